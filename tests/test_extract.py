"""The offline engine on the demo scripts, with the real MiniLM model."""

import json
from collections import defaultdict

from winloss.pipeline.extract import ground
from winloss.pipeline.extract.trackers import CompanyName, CompetitorTracker
from winloss.pipeline.ingest.transcribe import read_transcript
from winloss.pipeline.models import Evidence, Objection, Role, Transcript, Utterance


def _gold(examples):
    gold = defaultdict(set)
    for row in map(json.loads, (examples / "labels.jsonl").read_text().splitlines()):
        gold[row["call"]].add((row["kind"], row["line"], row["label"], row.get("status")))
    return gold


def test_scripts_findings_match_the_labels(engines, examples):
    """On the clean scripts the engine must find most labelled findings and invent few.

    Objections are held to recall here and to a lower precision: the zero-shot objection tracker is set on real
    conversations (docs/ACCURACY.md), where the thresholds that gave 0.95 on these scripts, written for this
    playbook, found a third of the objections. Reviews teach it the rest (test_learning.py)."""
    gold = _gold(examples)
    tp = fp = fn = 0
    obj = {"tp": 0, "fp": 0, "fn": 0}
    contradictions_found = 0
    for script in sorted((examples / "scripts").glob("call_*.txt"))[:8]:
        tr = read_transcript(script, script.stem)
        found = engines.extractor.extract(tr)
        objections, competitors, messages = found.objections, found.competitors, found.messages
        got = {("objection", f.evidence.utterance_index, f.category, None) for f in objections}
        got |= {("competitor", f.evidence.utterance_index, f.competitor, None) for f in competitors}
        got |= {("message", f.evidence.utterance_index, f.message_id, f.status.value) for f in messages}
        want = gold[script.stem]

        def strip(items):  # status is checked separately below
            return {x[:3] for x in items}

        got_obj, want_obj = ({x for x in strip(items) if x[0] == "objection"} for items in (got, want))
        obj["tp"] += len(got_obj & want_obj)
        obj["fp"] += len(got_obj - want_obj)
        obj["fn"] += len(want_obj - got_obj)
        tp += len(strip(got) & strip(want) - got_obj)
        fp += len(strip(got) - strip(want) - got_obj)
        fn += len(strip(want) - strip(got) - want_obj)
        contradictions_found += len({x for x in got if x[3] == "contradicted"} & want)
    assert tp / (tp + fp) >= 0.8, (tp, fp, fn)
    assert tp / (tp + fn) >= 0.8, (tp, fp, fn)
    assert obj["tp"] / (obj["tp"] + obj["fn"]) >= 0.8, obj
    assert obj["tp"] / (obj["tp"] + obj["fp"]) >= 0.5, obj
    assert contradictions_found == 2  # calls 03 and 07 carry one planted contradiction each


def test_every_quote_is_verbatim_in_its_utterance(engines, examples):
    tr = read_transcript(examples / "scripts" / "call_17.txt", "c17")
    found = engines.extractor.extract(tr).all
    assert found
    for f in found:
        assert f.evidence.quote in tr.utterances[f.evidence.utterance_index].text


def test_grounding_drops_invented_quotes(examples):
    tr = read_transcript(examples / "scripts" / "call_05.txt", "c5")
    u = next(u for u in tr.utterances if u.role is Role.customer)
    real = Objection(evidence=Evidence(call_id="c5", utterance_index=u.index, start=u.start, end=u.end,
                                       role=u.role, quote=u.text[:20]), confidence=0.9, engine="t", category="price")
    invented = real.model_copy(update={"evidence": real.evidence.model_copy(update={"quote": "We love it"})})
    wrong_role = real.model_copy(update={"evidence": real.evidence.model_copy(update={"role": Role.rep})})
    kept, dropped = ground([real, invented, wrong_role], tr)
    assert kept == [real] and dropped == 2


def test_competitor_tracker_matches_aliases_and_asr_slips_but_not_common_words(playbook):
    tracker = CompetitorTracker(playbook)

    def names(text):
        return sorted(m[0] for m in tracker.mentions(text))

    assert names("We use Sales Bridge and also pipe-wise.") == ["Pipewise", "Salesbridge"]
    assert names("Honestly, Quotian is the other option.") == ["Quotient"]
    assert names("We are also evaluating quotient.") == ["Quotient"]  # ASR lower-cases names it does not know
    assert names("The pipeline is fine, and the bridge too.") == []
    assert names("Our patient sales team quoted a price.") == []
    # Slips on the new demo voices: a sound-alike first letter, a lost syllable. Not a common English word.
    assert names("We looked at Vipewise last year.") == ["Pipewise"]
    assert names("We looked at by Pwise last year.") == ["Pipewise"]
    # ... but a slip onto a real word is never a name, however close ("pipelines", "questioned", "likewise").
    assert names("Our pipelines are fine, likewise the process, he questioned it.") == []
    # Before embedding, a name heard as a slip is generalised like an exact one (the examples say "another vendor").
    assert tracker.generalise("Quotian already does most of it, unlike Sales Bridge.") == \
        "another vendor already does most of it, unlike another vendor."


def test_case_sensitive_competitors_need_their_spelling(playbook):
    strict = playbook.model_copy(update={"competitors": [
        c.model_copy(update={"case_sensitive": c.name == "Quotient"}) for c in playbook.competitors]})
    tracker = CompetitorTracker(strict)
    assert tracker.mentions("The intelligence quotient of the team is high.") == []
    assert [m[0] for m in tracker.mentions("We compared it with Quotient.")] == ["Quotient"]


def test_the_company_name_as_asr_spelt_it_is_put_back_before_embedding(playbook, engines):
    company = CompanyName(playbook)
    assert company.restore("most teams are live on right line in two weeks") == \
        "most teams are live on Brightline in two weeks"
    assert company.restore("live on bright-line, we said") == "live on Brightline, we said"
    for kept in ["Brightline is great", "we are right in line with you", "a bright light", "the right time"]:
        assert company.restore(kept) == kept
    # What it is for: tiny.en wrote "right line" in three demo calls, and the message then fell below threshold.
    asr = Utterance(index=0, role=Role.rep, speaker="rep", start=0.0, end=5.0,
                    text="Something our customers tell us. Most teams are live on right line in two weeks.")
    found = engines.extractor.extract(Transcript(call_id="c", utterances=[asr], duration=5.0, engine="test"))
    assert [(m.message_id, m.status.value) for m in found.messages] == [("live_in_two_weeks", "delivered")]
    assert found.messages[0].evidence.quote == "Most teams are live on right line in two weeks."  # verbatim


def _rep(text: str) -> Transcript:
    return Transcript(call_id="c", duration=6.0, engine="test",
                      utterances=[Utterance(index=0, role=Role.rep, speaker="rep", start=0.0, end=6.0, text=text)])


def _messages(engines, text: str) -> list[tuple[str, str]]:
    return sorted((m.message_id, m.status.value) for m in engines.extractor.extract(_rep(text)).messages)


def test_a_figure_that_disagrees_with_the_message_is_a_contradiction(engines):
    """The message promises two weeks: MiniLM finds "two months" nearly the same sentence; the figure decides."""
    assert _messages(engines, "Most teams are live on Brightline in two weeks.") == [("live_in_two_weeks",
                                                                                        "delivered")]
    assert _messages(engines, "Most teams are live on Brightline in about three months.") == [
        ("live_in_two_weeks", "contradicted")]
    # Stating the message's own figure beside another one is no contradiction.
    assert _messages(engines, "Most teams are live on Brightline in two weeks, and the kickoff takes a day.") == [
        ("live_in_two_weeks", "delivered")]


def test_the_messages_own_figure_backs_a_loose_paraphrase(engines):
    """"Up and running within a couple of weeks" is too far from the playbook's words for MiniLM alone (0.48),
    but it states the message's two weeks. Without the figure, the same kind of sentence delivers nothing."""
    text = "We usually get teams like yours up and running within a couple of weeks."
    assert _messages(engines, text) == [("live_in_two_weeks", "paraphrased")]
    assert _messages(engines, "We usually get teams like yours to the next stage of their planning.") == []


def test_a_denial_of_an_affirmative_message_is_a_contradiction(engines):
    """ASR garbled "our security certification", so the sentence is only 0.63 like the forbidden claim; the
    hedge "still working on" against "Brightline is SOC 2 certified" makes it a contradiction."""
    text = "One thing worth knowing, we are still working on hours a clarity certification."
    assert _messages(engines, text) == [("security_certified", "contradicted")]
    # A message that itself negates ("not per seat") is not contradicted by a negation.
    assert _messages(engines, "Pricing is per team, not per seat, so your bill does not grow with every new hire.") \
        == [("team_pricing", "delivered")]


def test_a_lead_in_joined_by_the_asr_does_not_hide_the_message(engines):
    """The scripts say "Something our customers tell us. Most teams are live..."; ASR joins them with a comma."""
    joined = "Something her customers tell us, most teams are living Brightline in two weeks and we do the setup."
    assert _messages(engines, joined) == [("live_in_two_weeks", "delivered")]


def test_agreement_thanks_questions_and_small_talk_are_not_objections(engines):
    """What a customer says that resists nothing is closer to winloss's built-in non-objections than to the
    playbook's objection examples (sentences written for this test, not taken from either)."""
    lines = ["Okay, that sounds good to me.", "Thanks a lot for walking me through it.",
             "What does the dashboard show on the first page?", "Lovely weather for a Friday, isn't it?",
             "Honestly, the price is more than we can spend this year."]
    tr = Transcript(call_id="t", duration=30.0, engine="test", utterances=[
        Utterance(index=i, role=Role.customer, speaker="C", start=i * 5.0, end=i * 5.0 + 4, text=text)
        for i, text in enumerate(lines)])
    found = {o.evidence.utterance_index: o.category for o in engines.extractor.extract(tr).objections}
    assert found == {4: "price"}
