"""The review-and-learn loop end to end on six negotiation calls written for these tests (tests/fixtures/negotiations):
labels in, a tracker trained, findings changed, the report showing the reviewed precision; review driven through its
prompts; answers that survive kill -9; labels that survive re-analysis and bad label files that name their line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner
from winloss.cli.app import app
from winloss.pipeline.extract.learning import operating_point
from winloss.pipeline.extract.review import findings_to_review
from winloss.pipeline.models import ANY_LABEL, FindingKind
from winloss.pipeline.storage.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "negotiations"


def winloss(data: Path, *args, input: str | None = None):
    return CliRunner().invoke(app, ["--config", str(data.parent / "case" / "winloss.toml"), "--data-dir", str(data),
                                    *map(str, args)], input=input)


def objections(data: Path) -> set[tuple[str, int, str]]:
    store = Store(f"sqlite:///{data / 'winloss.db'}")
    paths = {c.call_id: Path(c.path).stem for c in store.list_calls()}
    return {(paths[f.call_id], f.utterance_index, f.label) for f in store.findings() if f.kind is FindingKind.objection}


@pytest.fixture(scope="module")
def analysed(tmp_path_factory, prefect_harness) -> Path:
    """The six calls analysed once by the zero-shot engine; tests work on copies."""
    root = tmp_path_factory.mktemp("negotiations")
    case = root / "case"
    shutil.copytree(FIXTURE, case)
    (case / "winloss.toml").write_text((case / "winloss.toml").read_text().replace(
        "../../../bench/playbooks/marketplace.toml", str(FIXTURE.parents[2] / "bench/playbooks/marketplace.toml")))
    result = winloss(root / "data", "analyze", "--manifest", case / "calls.csv", "--deals", case / "deals.csv")
    assert result.exit_code == 0, result.output
    return root / "data"


@pytest.fixture()
def data(analysed, tmp_path) -> Path:
    shutil.copytree(analysed.parent / "case", tmp_path / "case")
    shutil.copytree(analysed, tmp_path / "data")
    return tmp_path / "data"


def test_labels_teach_the_tracker_and_the_report_shows_their_precision(data):
    before = objections(data)
    imported = winloss(data, "labels", "import", data.parent / "case" / "labels.jsonl", "--who", "test")
    assert imported.exit_code == 0 and "27 label(s) imported" in imported.output
    status = json.loads(winloss(data, "trackers", "--json").stdout)["trackers"][0]
    assert status["mode"] == "learned" and status["yes"] == 12 and status["no"] == 15
    learned = winloss(data, "learn")
    assert learned.exit_code == 0, learned.output
    assert "6 call(s) refreshed" in learned.output
    after = objections(data)
    assert after != before
    truth = {(lb["file"].split("/")[-1][:-4], lb["utterance"]) for lb in
             map(json.loads, (data.parent / "case" / "labels.jsonl").read_text().splitlines()) if lb["verdict"]}
    assert {(call, idx) for call, idx, _ in after} == truth  # every resisting turn, and nothing else
    assert len({(call, idx) for call, idx, _ in before} & truth) < len(truth)  # zero-shot had missed some
    assert winloss(data, "learn").output.count("0 call(s) refreshed, 6 already current") == 1
    report = winloss(data, "report", "--since", "2026-11-16", "--until", "2026-11-22", "--format", "md", "--out",
                     data.parent / "r.md")
    assert report.exit_code == 0, report.output
    text = (data.parent / "r.md").read_text()
    assert "precision (reviewed)" in text
    price = next(line for line in text.splitlines() if line.startswith("| price"))
    assert "1.00 of 4 reviewed · ≈2 calls" in price  # 2 calls, 4 reviewed findings, every one right
    assert "not reviewed" not in text.split("## Competitors")[0]
    # a customer's quote names the rep as the call's owner, never as its speaker
    assert "“Four hundred dollars feels steep for a secondhand table though.” — customer, on Rosa's call" in text
    table = json.loads(winloss(data, "insights", "objections", "--json").stdout)
    assert {(r["label"], r["precision"], r["reviewed"]) for r in table if r["label"] == "price"} == {("price", 1.0, 4)}


def test_review_goes_through_its_prompts_and_saves_every_answer(data):
    # y: right; n: not an objection at all; c + category: right kind, other category; q: stop
    store = Store(f"sqlite:///{data / 'winloss.db'}")
    third = findings_to_review(store, FindingKind.objection, None, 5)[2]
    other = next(c for c in ("budget", "price", "timing") if c != third.label)
    result = winloss(data, "review", "--limit", "5", "--who", "ana", input=f"y\nn\nc\n{other}\nq\n")
    assert result.exit_code == 0, result.output
    assert "[y]es / [n]o" in result.output and "4 label(s) saved" in result.output
    labels = store.labels()
    verdicts = [(lb.label == ANY_LABEL, lb.verdict, lb.who) for lb in labels]
    assert verdicts[0] == (False, True, "ana") and verdicts[1] == (True, False, "ana")
    assert [(lb.label, lb.verdict) for lb in labels[2:]] == [(third.label, False), (other, True)]
    assert labels[2].utterance_index == third.utterance.index
    assert all(lb.source == "review" for lb in labels)
    again = winloss(data, "review", "--limit", "5", input="q\n")  # judged turns are not asked again
    assert labels[0].text not in again.output


def test_suggestions_are_customer_turns_not_yet_labelled(data):
    result = winloss(data, "review", "--suggest", "--limit", "4", input="n\ny\ns\ns\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("suggested: objection") == 4
    labels = Store(f"sqlite:///{data / 'winloss.db'}").labels()
    assert len(labels) == 2 and all(lb.source == "suggest" for lb in labels)


def test_a_review_killed_mid_session_keeps_every_answer_given(data):
    args = [sys.executable, "-c", "from winloss.cli.app import main; main()", "--config",
            str(data.parent / "case" / "winloss.toml"), "--data-dir", str(data), "review", "--limit", "6"]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    store = Store(f"sqlite:///{data / 'winloss.db'}")
    for answer in ("y\n", "n\n"):
        proc.stdin.write(answer.encode())
        proc.stdin.flush()
    deadline = time.monotonic() + 60
    while len(store.labels()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert [lb.verdict for lb in store.labels()] == [True, False]


def test_labels_survive_a_changed_call_and_round_trip_through_export(data):
    case = data.parent / "case"
    shutil.rmtree(data)  # the copied store's calls live in the module's folder: analyse this folder's own
    assert winloss(data, "analyze", "--manifest", case / "calls.csv", "--deals", case / "deals.csv").exit_code == 0
    assert winloss(data, "labels", "import", case / "labels.jsonl").exit_code == 0
    learned = winloss(data, "learn")
    assert "6 call(s) refreshed" in learned.output, learned.output
    exported = winloss(data, "labels", "export").stdout
    with (case / "calls" / "n01.txt").open("a") as fh:
        fh.write("CUSTOMER: One more thing, can you hold it until Monday?\n")
    result = winloss(data, "analyze", "--manifest", case / "calls.csv")
    assert result.exit_code == 0 and "1 analysed, 5 unchanged" in result.output, result.output
    assert winloss(data, "labels", "export").stdout == exported  # same calls, same sentences, same verdicts
    fresh = data.parent / "fresh"
    shutil.copytree(data, fresh)
    Store(f"sqlite:///{fresh / 'winloss.db'}").engine.dispose()
    (data.parent / "all.jsonl").write_text(exported)
    assert winloss(fresh, "labels", "import", data.parent / "all.jsonl").exit_code == 0
    assert winloss(fresh, "labels", "export").stdout.count("\n") == exported.count("\n")  # an import replaces


@pytest.mark.parametrize(("line", "problem"), [
    ('{"file": "calls/n01.txt", "utterance": 2, "kind": "objection", "label": "price"}', "line 2, verdict"),
    ('{"file": "calls/n99.txt", "utterance": 0, "kind": "objection", "label": "*", "verdict": false}',
     "line 2: no analysed call from calls/n99.txt"),
    ('{"file": "calls/n01.txt", "utterance": 99, "kind": "objection", "label": "*", "verdict": "no"}',
     "line 2: call"),
    ("not json", "line 2: not JSON"),
    ('{"file": "calls/n01.txt", "utterance": 1, "kind": "mood", "label": "x", "verdict": true}', "line 2, kind"),
])
def test_a_bad_labels_file_names_its_line_and_imports_nothing(data, line, problem):
    good = '{"file": "calls/n01.txt", "utterance": 2, "kind": "objection", "label": "price", "verdict": "yes"}'
    path = data.parent / "case" / "bad.jsonl"
    path.write_text(f"{good}\n{line}\n")
    result = winloss(data, "labels", "import", path)
    assert result.exit_code == 1
    assert problem in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.output
    assert Store(f"sqlite:///{data / 'winloss.db'}").labels() == []


def test_the_operating_point_meets_the_target_on_the_turns_to_be_judged_not_on_the_reviewed_ones():
    import numpy as np

    rng = np.random.default_rng(1)
    # reviewed turns: out-of-fold scores whose chance of being an objection rises with the score
    scores = rng.uniform(0.05, 0.95, 120)
    truth = rng.uniform(size=120) < scores
    # two sets of calls to judge: one where most turns score high, one where they spread over the middle
    rich, poor = np.concatenate([rng.uniform(0.9, 1.0, 300), rng.uniform(0.3, 0.9, 100)]), rng.uniform(0.3, 0.9, 400)
    t_rich, p_rich, r_rich = operating_point(scores, truth, rich, target=0.8)
    t_poor, p_poor, r_poor = operating_point(scores, truth, poor, target=0.8)
    assert p_rich >= 0.8 and p_poor >= 0.8 and 0 < r_poor < r_rich <= 1
    # at one threshold the poor calls' finds hold more middling turns, so their threshold must be higher
    assert t_poor > t_rich + 0.05
    # the threshold lies between two scores, and turns that tie are all in or all out
    for population in (rich, poor):
        t, _, _ = operating_point(scores, truth, population, target=0.8)
        assert not np.isin(t, population) and (population > t).any()
    tied = np.array([0.95] * 50 + [0.5] * 50)
    t, _, recall = operating_point(scores, truth, tied, target=0.8)
    assert (t < 0.5 and recall == 1.0) or (0.5 < t < 0.95 and recall < 1.0)
    assert operating_point(scores, np.zeros(120, dtype=bool), rich, 0.8) == (0.5, None, None)
    assert operating_point(scores, np.ones(120, dtype=bool), rich, 0.8) == (0.5, None, None)


def test_the_learner_weighs_the_words_the_reviewed_calls_share():
    import numpy as np
    from winloss.pipeline.extract.learning import WORDS_WEIGHT, Words

    turns = ["That is too much for me.", "Could you go lower on the price?", "Still too much, can you go lower?",
             "Would you take $400?", "I could do $350 cash.", "Thanks, see you then."]
    words = Words.of(turns)
    vocabulary = set(words.vectorizer.vocabulary_)
    # words and word pairs that two turns share, a currency sign and a question mark among them; not one-offs
    assert {"too", "too much", "go lower", "$", "?"} <= vocabulary and "cash" not in vocabulary
    x = words(["too much, go lower?", "see you tomorrow", "nothing in common"])
    # unit-length rows, as the embeddings are, at the words' weight; a turn with no known word is all zeros
    assert np.allclose(np.linalg.norm(x[:2], axis=1), WORDS_WEIGHT) and not x[2].any()
    assert words([]).shape == (0, x.shape[1])
    # no word in two turns yet: nothing to weigh, and no error
    assert Words.of(["hello", "goodbye"])(["hello"]).shape == (1, 0)


def test_the_learner_reads_the_reps_reply_to_a_turn(engines):
    """Two kinds of turn that say the same words: the rep's reply tells resistance (a defence of the price) from
    agreement (arranging the pick-up). A reply nobody knows sits between the two."""
    import numpy as np
    from winloss.pipeline.extract.learning import train_detector
    from winloss.pipeline.models import CustomerTurn, Label

    defences = ["It is barely used and worth every penny, I cannot go lower.",
                "That is already a fair price for this condition.", "Sorry, the price is firm, it is almost new."]
    arrangements = ["Great, you can pick it up tomorrow morning.", "Perfect, I will hold it for you until Friday.",
                    "Wonderful, see you at six then."]
    population = [CustomerTurn(f"call{i}", 1, "Hmm, okay then.", (defences if i % 2 else arrangements)[i % 3])
                  for i in range(60)]
    labels = [Label(call_id=t.call_id, utterance_index=1, text=t.text, kind=FindingKind.objection,
                    label="price" if t.reply in defences else ANY_LABEL, verdict=t.reply in defences)
              for t in population]
    detector, status = train_detector(FindingKind.objection, labels, engines.playbook, engines.embedder,
                                      engines.settings.extraction, population)
    assert status.mode == "learned"
    # the same words are an objection after a defence, not after an arrangement
    decided = detector.probabilities([t.text for t in population], engines.embedder, [t.reply for t in population])
    assert ((decided > detector.threshold) == np.array([t.reply in defences for t in population])).all()
    # and so with replies it never saw; a reply nobody knows sits between
    chance = detector.probabilities(["Hmm, okay then."] * 3, engines.embedder,
                                    ["No, that price is fair for what it is.", "Great, pick it up on Sunday.", None])
    assert chance[0] > 0.5 > chance[1] and chance[0] > chance[2] > chance[1]
    # a reply nobody knows is the mean of the known ones' features; no reply at all is a reply of its own
    x = detector.features(["Hmm, okay then."] * 3, engines.embedder, [None, "", "Great, pick it up on Sunday."])
    assert np.allclose(x[0, -len(detector.features.replies.unknown):], detector.features.replies.unknown)
    assert x[1, -1] == 1 and x[2, -1] == 0
    # features without replies (a playbook example) have the same width
    assert detector.features(["Too expensive."], engines.embedder).shape[1] == x.shape[1]
