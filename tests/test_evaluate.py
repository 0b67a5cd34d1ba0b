"""`winloss eval extraction` on the demo scripts: per kind, per category, objection handling, grounding."""

import json

from typer.testing import CliRunner
from winloss.cli.app import app
from winloss.pipeline.evaluation.findings import score
from winloss.pipeline.storage.store import Store


def test_the_offline_engine_meets_its_targets_on_the_scripts(script_corpus, examples):
    scores = score(Store(script_corpus.database_url), examples / "labels.jsonl")
    k = scores.kinds
    # Objection precision on these scripts (written for this playbook) was 0.95 with thresholds set on them; the
    # zero-shot rule is now set on real negotiations (docs/ACCURACY.md) and files status-quo descriptions here as
    # `need` objections until a reviewer says otherwise. Recall must hold; precision must not fall further.
    assert k["objection"].precision >= 0.5 and k["objection"].recall >= 0.8, k["objection"]
    assert k["message"].precision >= 0.85 and k["message"].recall >= 0.75, k["message"]
    assert k["contradiction"].tp >= 4 and k["contradiction"].fp <= 1, k["contradiction"]
    customer = score(Store(script_corpus.database_url), examples / "labels.jsonl", True).kinds["competitor"]
    assert customer.precision >= 0.95 and customer.recall >= 0.9, customer
    # Per category: every planted objection category and competitor is scored on its own.
    assert {"objection:price", "objection:timing", "competitor:Quotient", "message:forecast_accuracy"} <= set(
        scores.labels)
    assert sum(s.tp + s.fn for name, s in scores.labels.items() if name.startswith("objection:")) == (
        k["objection"].tp + k["objection"].fn)
    h = scores.handling
    assert h.answered_total >= 20 and h.answered_right / h.answered_total >= 0.9, h
    assert h.accepted_total >= 5 and h.accepted_right / h.accepted_total >= 0.8, h


def test_every_exported_quote_is_in_its_calls_transcript(script_corpus):
    store = Store(script_corpus.database_url)
    found = store.findings()
    assert len(found) > 80
    texts = {}
    for f in found:
        if f.call_id not in texts:
            texts[f.call_id] = [u.text for u in store.transcript(f.call_id).utterances]
        assert f.quote in texts[f.call_id][f.utterance_index]


def test_eval_extraction_cli_prints_kinds_labels_and_handling(script_corpus):
    result = CliRunner().invoke(app, ["--data-dir", str(script_corpus.data_dir), "eval", "extraction", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    kinds = {r["finding"]: r for r in out["kinds"]}
    assert set(kinds) == {"objection", "competitor", "message", "contradiction", "competitor (customer-said)"}
    assert any(r["finding"] == "objection:price" for r in out["labels"])
    assert out["handling"]["answered_total"] > 0
