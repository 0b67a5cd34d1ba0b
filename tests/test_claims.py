"""Figures and polarity of claims, and runs of clauses: the pieces the offline engine judges messages with."""

import pytest
from winloss.pipeline.extract.claims import Claim, agreement, disagreement, negated, quantities
from winloss.pipeline.extract.sentences import MAX_CLAUSES, clause_runs, split_sentences


def test_sentences_end_at_sentence_ends_not_at_decimals_or_abbreviations():
    text = "Teams see a 2.5 percent lift. Dr. Smith agreed. Did he? Yes!"
    assert split_sentences(text) == ["Teams see a 2.5 percent lift.", "Dr. Smith agreed.", "Did he?", "Yes!"]
    assert split_sentences("  no punctuation at all  ") == ["no punctuation at all"]
    assert split_sentences("") == split_sentences("   ") == []
    for piece in split_sentences(text):
        assert piece in text  # quotes stay verbatim


@pytest.mark.parametrize(("text", "expected"), [
    ("Most teams are live in two weeks.", [("duration", 14.0)]),
    ("Setup takes a few months for a team your size.", [("duration", 91.2)]),
    ("It takes a couple of years before you see a return.", [("duration", 730.0)]),
    ("It usually pays for itself in about half a year.", [("duration", 182.5)]),
    ("a 30% lift in 6 months", [("percent", 30.0), ("duration", 182.4)]),
    ("by twenty-five percent within one quarter", [("percent", 25.0), ("duration", 91.3)]),
    ("a six-month payback", [("duration", 182.4)]),
    ("Compare it quarter by quarter, in the first week of next quarter.", []),
    ("We have twelve reps and three managers.", []),
    ("Most teams are live in two and a half weeks.", [("duration", 17.5)]),  # was 3.5: "a half weeks"
    ("a week and a half, or one hundred and twenty days", [("duration", 10.5), ("duration", 120.0)]),
    ("one and a half months", [("duration", 45.6)]),
])
def test_quantities_reads_time_frames_and_percentages(text, expected):
    assert [(q.dimension, round(q.value, 1)) for q in quantities(text)] == expected


def test_figures_agree_within_the_ratio_and_disagree_beyond_it():
    two_weeks = quantities("live in two weeks")
    assert disagreement(two_weeks, quantities("setup takes a few months")).text == "a few months"
    assert disagreement(two_weeks, quantities("within a couple of weeks")) is None
    assert disagreement(two_weeks, quantities("in two weeks, and the kickoff takes a day")) is None
    assert disagreement(two_weeks, quantities("thirty percent better")) is None  # no figure of the same kind
    assert agreement(two_weeks, quantities("within a couple of weeks"))
    assert not agreement(two_weeks, quantities("thirty percent better"))
    assert not agreement(two_weeks, quantities("in three months"))
    accuracy = quantities("thirty percent within one quarter")
    assert disagreement(accuracy, quantities("about ten percent in a quarter")).dimension == "percent"


def test_negation_and_hedges():
    for text in ["We are not certified yet.", "We are still working on our certification.", "It isn't native.",
                 "We can't promise that.", "There is nothing to build.", "with no engineering work"]:
        assert negated(text), text
    for text in ["Brightline is SOC 2 Type 2 certified.", "We know the answer.", "Notion is a tool.",
                 "Another option."]:
        assert not negated(text), text
    assert Claim.of(["Pricing is per team, not per seat."]).negated
    assert not Claim.of(["Most teams are live in two weeks."]).negated


def test_clause_runs_give_the_claim_without_its_lead_in():
    runs = clause_runs("Something our customers tell us, pricing is per team, not per seat.")
    assert "pricing is per team, not per seat." in runs and "pricing is per team" in runs
    assert "Something our customers tell us, pricing is per team, not per seat." not in runs  # the whole
    assert "not per seat." in runs and all(len(r.split()) >= 3 for r in runs)
    assert clause_runs("No commas in this one at all.") == []
    long = ", ".join(f"clause number {i} here" for i in range(MAX_CLAUSES + 2))
    assert len(clause_runs(long)) == 2 * (MAX_CLAUSES + 1)  # only runs that drop clauses from one end
