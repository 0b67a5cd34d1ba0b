"""Real Whisper tiny.en on real audio."""

import wave

import numpy as np
import pytest
from winloss.pipeline.analyze import analyse_call, make_call
from winloss.pipeline.errors import BadInputError
from winloss.pipeline.evaluation.speech import wer
from winloss.pipeline.ingest.audio import decode
from winloss.pipeline.ingest.transcribe import transcribe_audio
from winloss.pipeline.models import Role


def test_jfk_transcribes_within_five_percent_wer(engines, data_dir):
    audio = decode(data_dir / "jfk.wav")
    tr = transcribe_audio("jfk", audio, engines.transcriber, ("rep", "customer"), 300)
    text = " ".join(u.text for u in tr.utterances)
    assert wer((data_dir / "jfk.reference.txt").read_text(), text) <= 0.05, text
    assert all(u.role is Role.unknown for u in tr.utterances)  # mono: no guess about who speaks
    assert tr.duration == pytest.approx(11.0, abs=0.1)


def test_stereo_channels_become_rep_and_customer(engines, data_dir):
    audio = decode(data_dir / "stereo_diarization.wav")
    assert audio.stereo
    refs = dict(line.split("\t") for line in (data_dir / "stereo_diarization.refs.tsv").read_text().splitlines()[1:])
    tr = transcribe_audio("st", audio, engines.transcriber, ("rep", "customer"), 300)
    said = {role: " ".join(u.text for u in tr.utterances if u.role is role) for role in (Role.rep, Role.customer)}
    assert wer(refs["left"], said[Role.rep]) <= 0.2, said
    assert wer(refs["right"], said[Role.customer]) <= 0.2, said
    swapped = transcribe_audio("st", audio, engines.transcriber, ("customer", "rep"), 300)
    assert " ".join(u.text for u in swapped.utterances if u.role is Role.customer) == said[Role.rep]


@pytest.mark.parametrize("name, content, problem", [
    ("empty.wav", b"", "empty file (0 bytes)"),
    ("noise.mp3", bytes(range(256)) * 40, "not a readable audio or video file"),
    ("notes.wav", b"Meeting notes: call Virgil on Thursday.\n" * 20, "not a readable audio or video file"),
])
def test_bad_files_get_a_clear_error_naming_the_file(tmp_path, engines, name, content, problem):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(BadInputError) as err:
        analyse_call(make_call(f, None), engines)
    assert str(f) in str(err.value) and problem in str(err.value)


def test_silence_only_is_reported_as_no_speech(tmp_path, engines):
    f = tmp_path / "silence.wav"
    with wave.open(str(f), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(16000 * 3, dtype=np.int16).tobytes())
    with pytest.raises(BadInputError, match="no speech found in 3 s"):
        analyse_call(make_call(f, None), engines)


@pytest.mark.parametrize("name", ["jfk_8k_mulaw.wav", "jfk.mp4"])
def test_telephone_audio_and_video_containers_are_transcribed(engines, data_dir, name):
    """8 kHz mu-law telephone audio is resampled; an mp4's audio track is used and its video ignored."""
    analysis = analyse_call(make_call(data_dir / name, None), engines)
    text = " ".join(u.text for u in analysis.transcript.utterances)
    assert analysis.transcript.duration == pytest.approx(11.0, abs=0.1)
    assert wer((data_dir / "jfk.reference.txt").read_text(), text) <= 0.35, text
    assert "can do for your country" in text.lower()


def test_music_without_speech_is_reported_not_transcribed(engines, data_dir):
    with pytest.raises(BadInputError, match=r"music_only\.opus: no speech found in 8 s"):
        analyse_call(make_call(data_dir / "music_only.opus", None), engines)


def test_hotword_echoes_are_dropped_and_real_speech_kept(playbook):
    from winloss.pipeline.ingest.transcribe.whisper import echoes, vocabulary_prompt

    prompt = vocabulary_prompt(playbook)
    assert "Quotient" in prompt and "Brightline Forecast" in prompt
    assert echoes(" Quotient Salesbridge.", prompt) and echoes("Pipewise, Quotient", prompt)
    assert not echoes("We currently use Salesbridge for our pipeline reports.", prompt)
    assert not echoes("", prompt)


def test_another_language_is_detected_transcribed_and_reported(tmp_path, playbook, data_dir):
    """German speech: the multilingual model (joined once from its two wheels, checksums verified) detects it,
    transcribes it in German, and the outcome says so; English audio goes on with the English model."""
    from winloss.pipeline.analyze import Engines
    from winloss.pipeline.settings import load_settings

    from .conftest import CONFIG

    engines = Engines(load_settings(CONFIG, data_dir=tmp_path), playbook)
    german = analyse_call(make_call(data_dir / "german_tts.wav", None), engines)
    assert german.transcript.language == "de"
    assert german.note.startswith("spoken language de (p ") and "multilingual base model" in german.note
    text = " ".join(u.text for u in german.transcript.utterances).lower()
    assert "preis" in text or "angebot" in text or "woche" in text, text
    joined = tmp_path / "models" / "whisper-base" / "model.bin"
    assert joined.stat().st_size == 2 * 72608766  # the two parts, back to back
    english = analyse_call(make_call(data_dir / "jfk.wav", None), engines)
    assert english.note is None and english.transcript.language == "en"


def test_truncated_files_fail_clearly_or_keep_what_is_there(tmp_path, engines, data_dir):
    """A cut-off mp4 loses its index (moov): a clear error naming the file. A cut-off WAV keeps its first
    seconds: they are transcribed, as FFmpeg decodes them."""
    mp4 = tmp_path / "cut.mp4"
    data = (data_dir / "jfk.mp4").read_bytes()
    mp4.write_bytes(data[: len(data) * 2 // 5])
    with pytest.raises(BadInputError) as err:
        analyse_call(make_call(mp4, None), engines)
    assert str(mp4) in str(err.value) and "not a readable audio or video file" in str(err.value)
    wav = tmp_path / "cut.wav"
    data = (data_dir / "jfk.wav").read_bytes()
    wav.write_bytes(data[: len(data) * 2 // 5])  # 4.4 of 11 s
    analysis = analyse_call(make_call(wav, None), engines)
    text = " ".join(u.text for u in analysis.transcript.utterances).lower()
    assert analysis.transcript.duration < 5 and "fellow americans" in text, text
