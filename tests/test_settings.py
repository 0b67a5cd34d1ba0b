from pathlib import Path

import pytest
from winloss.pipeline.errors import ConfigError
from winloss.pipeline.fingerprint import fingerprint, same_transcript
from winloss.pipeline.playbook import load_playbook
from winloss.pipeline.settings import load_settings

from .conftest import CONFIG


def test_repo_config_and_playbook_load(playbook):
    settings = load_settings(CONFIG)
    assert settings.transcription.model == "tiny.en"
    assert settings.playbook == CONFIG.parent / "playbook.toml"
    assert len(playbook.messages) >= 5
    assert len(playbook.objections) >= 6
    assert {"price", "timing", "authority", "need", "competitor", "security", "integration"} <= {
        c.category for c in playbook.objections}
    assert all(m.forbidden for m in playbook.messages if m.id == "live_in_two_weeks")


def test_env_overrides_file_and_flags_override_env(monkeypatch, tmp_path):
    monkeypatch.setenv("WINLOSS_EXTRACTION__OBJECTION_THRESHOLD", "0.61")
    monkeypatch.setenv("WINLOSS_DATA_DIR", str(tmp_path / "from-env"))
    settings = load_settings(CONFIG)
    assert settings.extraction.objection_threshold == 0.61
    assert settings.data_dir == tmp_path / "from-env"
    assert load_settings(CONFIG, data_dir=tmp_path / "flag").data_dir == tmp_path / "flag"


def test_invalid_value_names_file_key_and_type(tmp_path):
    bad = tmp_path / "winloss.toml"
    bad.write_text('[transcription]\nbeam_size = "wide"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(bad)
    message = str(err.value)
    assert str(bad) in message
    assert "transcription.beam_size" in message
    assert "integer" in message and "'wide'" in message


def test_unknown_key_and_broken_toml_are_reported(tmp_path):
    typo = tmp_path / "typo.toml"
    typo.write_text("[extraction]\nobjection_treshold = 0.5\n")
    with pytest.raises(ConfigError, match=r"extraction\.objection_treshold"):
        load_settings(typo)
    broken = tmp_path / "broken.toml"
    broken.write_text("[storage\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "missing.toml")


def test_playbook_rejects_duplicate_message_ids(tmp_path):
    pb = tmp_path / "playbook.toml"
    pb.write_text('[company]\nname="X"\n[[messages]]\nid="a"\ntext="one"\n[[messages]]\nid="a"\ntext="two"\n')
    with pytest.raises(ConfigError, match=r"unique.*a"):
        load_playbook(pb)


def test_fingerprint_follows_what_analysis_depends_on(playbook, tmp_path):
    a = load_settings(CONFIG, data_dir=tmp_path / "one")
    b = load_settings(CONFIG, data_dir=tmp_path / "two")
    assert fingerprint(a, playbook) == fingerprint(b, playbook)  # where data lives changes nothing
    c = a.model_copy(update={"extraction": a.extraction.model_copy(update={"objection_threshold": 0.9})})
    assert fingerprint(c, playbook) != fingerprint(a, playbook)
    # findings-only changes (extraction settings, labels) keep the transcript half: no transcription again
    assert same_transcript(fingerprint(a, playbook), fingerprint(c, playbook))
    assert same_transcript(fingerprint(a, playbook), fingerprint(a, playbook, labels="abc"))
    assert fingerprint(a, playbook, labels="abc") != fingerprint(a, playbook)
    d = a.model_copy(update={"transcription": a.transcription.model_copy(update={"beam_size": 5})})
    assert not same_transcript(fingerprint(a, playbook), fingerprint(d, playbook))
    assert not same_transcript("0123456789abcdef", fingerprint(a, playbook))  # a store written before the split
    assert Path(a.database_url.removeprefix("sqlite:///")).name == "winloss.db"


def test_a_config_written_before_structured_output_still_loads(tmp_path):
    from winloss.pipeline.settings import LLMSettings

    assert LLMSettings(json_mode=False).structured_output == "prompt"
    assert LLMSettings(json_mode=True).structured_output == "json_mode"
    assert LLMSettings().structured_output == "json_schema"
