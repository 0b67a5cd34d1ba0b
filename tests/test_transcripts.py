import pytest
from winloss.pipeline.errors import BadInputError
from winloss.pipeline.ingest.speakers import label_roles, parse_roles_column
from winloss.pipeline.ingest.transcribe import read_transcript
from winloss.pipeline.models import Role


def test_demo_script_reads_as_a_timed_role_labelled_transcript(examples):
    tr = read_transcript(examples / "scripts" / "call_03.txt", "c3")
    first, second = tr.utterances[:2]
    assert first.role is Role.rep and first.text.startswith("Hi Grace, this is Tom from Brightline")
    assert second.role is Role.customer and second.start > first.start
    assert all(u.end >= u.start for u in tr.utterances)
    assert [u.index for u in tr.utterances] == list(range(len(tr.utterances)))


def test_named_speakers_map_through_rep_name_and_times_are_estimated(tmp_path):
    f = tmp_path / "call.txt"
    f.write_text("Roger: Hi Virgil, thanks for joining.\nVirgil: Sure, what do you have for me?\n"
                 "Roger: A pilot.\n")
    tr = read_transcript(f, "x", rep_name="Roger")
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
        read_transcript(f, "x")
    assert str(f) in str(err.value) and problem in str(err.value)


def test_rep_is_the_speaker_who_introduces_the_company_and_asks():
    from winloss.pipeline.ingest.speakers import infer_rep

    texts = {"S1": ["Hi Grace, this is Tom from Brightline.", "How do you forecast today?", "Which CRM?"],
             "S2": ["Hi Tom, happy to chat.", "Mostly spreadsheets."]}
    rep, confidence = infer_rep(texts, ["Brightline"], rep_name="Tom")
    assert rep == "S1" and confidence == 1.0
    assert infer_rep(texts, ["Brightline"])[0] == "S1"  # without the rep's name: company and questions
    unsure = {"S1": ["Is it ready?"], "S2": ["Can you hear me?"]}
    assert infer_rep(unsure, ["Brightline"]) == (None, 0.0)


def test_gecko_json_of_gongs_call_reads_with_roles_from_the_rep_name(examples):
    tr = read_transcript(examples / "gong" / "demo.json", "gong", rep_name="Roger")
    assert len(tr.utterances) == 62
    first = tr.utterances[0]
    assert (first.speaker, first.role, first.start) == ("Roger", Role.rep, 0.03)
    assert first.text.startswith("Hi, Virgil good to finally connect")
    assert {u.role for u in tr.utterances if u.speaker == "Virgil"} == {Role.customer}
    assert tr.duration == pytest.approx(568, abs=2) and tr.engine == "imported-json"


def test_rev_json_monologues(tmp_path):
    f = tmp_path / "rev.json"
    f.write_text('{"monologues": [{"speaker": 0, "speaker_name": "Ana", "elements": ['
                 '{"type": "text", "value": "Too", "ts": 1.0, "end_ts": 1.2}, {"type": "punct", "value": " "},'
                 '{"type": "text", "value": "pricey", "ts": 1.3, "end_ts": 1.8}, {"type": "punct", "value": "."}]}]}')
    [u] = read_transcript(f, "r", roles={"Ana": Role.customer}).utterances
    assert (u.speaker, u.role, u.start, u.end, u.text) == ("Ana", Role.customer, 1.0, 1.8, "Too pricey.")


def test_webvtt_with_voice_tags_and_teams_style_prefixes(tmp_path):
    f = tmp_path / "zoom.vtt"
    f.write_text("WEBVTT\n\nNOTE exported\n\n1\n00:00:01.000 --> 00:00:04.500\n<v Roger Smith>Hi Virgil, "
                 "thanks for joining.</v>\n\n2\n00:00:05.000 --> 00:01:02.250 align:start\n<v Virgil>It is "
                 "<b>too</b> expensive.</v>\n\n00:01:03.000 --> 00:01:04.000\nRoger Smith: Let me explain.\n")
    tr = read_transcript(f, "v", rep_name="Roger")
    assert [(u.speaker, u.role, u.start, u.end, u.text) for u in tr.utterances] == [
        ("Roger Smith", Role.rep, 1.0, 4.5, "Hi Virgil, thanks for joining."),
        ("Virgil", Role.customer, 5.0, 62.25, "It is too expensive."),
        ("Roger Smith", Role.rep, 63.0, 64.0, "Let me explain."),
    ]


def test_webvtt_entities_are_text_again(tmp_path):
    f = tmp_path / "teams.vtt"
    f.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Smith &amp; Co>We compared Quotient &amp; "
                 "Pipewise, R&amp;D&nbsp;too &lt;b&gt;here&lt;/b&gt; &#8212; \u200eyes.</v>\n")
    [u] = read_transcript(f, "e").utterances
    assert (u.speaker, u.text) == ("Smith & Co", "We compared Quotient & Pipewise, R&D too <b>here</b> \u2014 yes.")
    srt = tmp_path / "call.srt"  # SRT defines no entities: its text is kept as written
    srt.write_text("1\n00:00:00,500 --> 00:00:02,000\nAT&T &amp; more.\n")
    assert [u.text for u in read_transcript(srt, "s").utterances] == ["AT&T &amp; more."]


def test_srt_without_speakers_keeps_roles_unknown(tmp_path):
    f = tmp_path / "call.srt"
    f.write_text("1\n00:00:00,500 --> 00:00:02,000\nHello there.\n\n2\n00:00:02,500 --> 00:00:04,000\n"
                 "Hi, who is this?\n")
    tr = read_transcript(f, "s")
    assert [(u.start, u.end, u.role, u.text) for u in tr.utterances] == [
        (0.5, 2.0, Role.unknown, "Hello there."), (2.5, 4.0, Role.unknown, "Hi, who is this?")]


@pytest.mark.parametrize("name, content, problem", [
    ("cues.vtt", "WEBVTT\n\nno cues here\n", "no timed cues"),
    ("bad.json", "{not json", "not valid JSON"),
    ("other.json", '{"segments": []}', "needs a `monologues` list"),
    ("shape.json", '{"monologues": [{"terms": [{"start": 1}]}]}', "monologue 0: unexpected shape"),
])
def test_broken_imports_name_file_and_problem(tmp_path, name, content, problem):
    f = tmp_path / name
    f.write_text(content)
    with pytest.raises(BadInputError) as err:
        read_transcript(f, "x")
    assert str(f) in str(err.value) and problem in str(err.value)


def test_bracketed_second_ranges(tmp_path):
    f = tmp_path / "derived.txt"
    f.write_text("[0.03-5.55] Roger: Hi, Virgil.\n[6.60-15.06] Virgil: Yeah.\n")
    tr = read_transcript(f, "d", rep_name="Roger")
    assert [(u.start, u.end, u.role) for u in tr.utterances] == [(0.03, 5.55, Role.rep), (6.6, 15.06, Role.customer)]
