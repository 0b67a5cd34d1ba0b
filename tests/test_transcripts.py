import pytest
from winloss.pipeline.errors import BadInputError
from winloss.pipeline.models import Role
from winloss.pipeline.speakers import label_roles, parse_roles_column
from winloss.pipeline.transcribe import read_text_transcript


def test_demo_script_reads_as_a_timed_role_labelled_transcript(examples):
    tr = read_text_transcript(examples / "scripts" / "call_03.txt", "c3")
    first, second = tr.utterances[:2]
    assert first.role is Role.rep and first.text.startswith("Hi Grace, this is Tom from Brightline")
    assert second.role is Role.customer and second.start > first.start
    assert all(u.end >= u.start for u in tr.utterances)
    assert [u.index for u in tr.utterances] == list(range(len(tr.utterances)))


def test_named_speakers_map_through_rep_name_and_times_are_estimated(tmp_path):
    f = tmp_path / "call.txt"
    f.write_text("Roger: Hi Virgil, thanks for joining.\nVirgil: Sure, what do you have for me?\n"
                 "Roger: A pilot.\n")
    tr = read_text_transcript(f, "x", rep_name="Roger")
    assert [u.role for u in tr.utterances] == [Role.rep, Role.customer, Role.rep]
    assert tr.utterances[0].start == 0 and tr.utterances[1].start > tr.utterances[0].end


def test_roles_column_and_unknown_when_unsure():
    assert parse_roles_column("Roger=rep; Virgil=customer") == {"Roger": Role.rep, "Virgil": Role.customer}
    assert label_roles(["Ann", "Bob", "Cy"]) == {"Ann": Role.unknown, "Bob": Role.unknown, "Cy": Role.unknown}
    assert label_roles(["Ann", "Bob"], explicit={"bob": Role.customer}) == {"Ann": Role.rep, "Bob": Role.customer}


@pytest.mark.parametrize("content, problem", [
    ("just some words with no speaker\n", "line 1 is not `Speaker: text`"),
    ("\n\n", "no `Speaker: text` lines"),
])
def test_bad_text_transcripts_name_the_problem(tmp_path, content, problem):
    f = tmp_path / "bad.txt"
    f.write_text(content)
    with pytest.raises(BadInputError) as err:
        read_text_transcript(f, "x")
    assert str(f) in str(err.value) and problem in str(err.value)


def test_rep_is_the_speaker_who_introduces_the_company_and_asks():
    from winloss.pipeline.speakers import infer_rep

    texts = {"S1": ["Hi Grace, this is Tom from Brightline.", "How do you forecast today?", "Which CRM?"],
             "S2": ["Hi Tom, happy to chat.", "Mostly spreadsheets."]}
    rep, confidence = infer_rep(texts, ["Brightline"], rep_name="Tom")
    assert rep == "S1" and confidence == 1.0
    assert infer_rep(texts, ["Brightline"])[0] == "S1"  # without the rep's name: company and questions
    unsure = {"S1": ["Is it ready?"], "S2": ["Can you hear me?"]}
    assert infer_rep(unsure, ["Brightline"]) == (None, 0.0)
