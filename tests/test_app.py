"""The composition root: one App builds each provider once, from config, on first use."""

from __future__ import annotations

import pytest
from winloss.pipeline.app import App
from winloss.pipeline.errors import ConfigError
from winloss.pipeline.models import FindingKind, Label


def test_an_app_reads_nothing_until_asked(tmp_path):
    app = App(config=tmp_path / "missing.toml")  # what `winloss --help` builds: no file is read yet
    with pytest.raises(ConfigError, match=r"missing\.toml: file not found"):
        _ = app.settings


def test_each_provider_is_built_once_and_the_engines_learn_from_the_stores_labels(settings):
    app = App(settings)
    assert app.store is app.store and app.playbook is app.playbook
    label = Label(call_id="c1", utterance_index=0, text="That is far too expensive for us.",
                  kind=FindingKind.objection, label="price", verdict=True)
    app.store.save_labels([label])
    engines = app.engines(transcripts=3)
    assert engines.labels == app.store.labels() and engines.transcripts == 3 and engines.playbook is app.playbook
    assert app.engines(labels=[]).fingerprint != engines.fingerprint  # what the trackers learned from is in it
    assert app.settings.data_dir == settings.data_dir and app.batch_index().embedder is not None
