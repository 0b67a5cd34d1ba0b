"""Hostile data through every view and output: markup and HTML in quotes, names and file names show as themselves,
bad inputs and slips are one-line errors naming the file, line and problem, and none of it touches the store."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner
from winloss.cli.app import app
from winloss.cli.state import console
from winloss.pipeline.extract.sentences import clause_runs, split_sentences
from winloss.pipeline.insight.metrics import questions
from winloss.pipeline.render.report import md, md_code
from winloss.pipeline.render.weekly import chat_text
from winloss.pipeline.storage.store import Store

from .conftest import CONFIG

SCRIPT = "<script>alert(1)</script>"
QUOTE = f"Honestly the price is too high [/b] {SCRIPT} compared to Quotient."
REP, ACCOUNT, FILE = "Tom [/x]", "<b>Acme</b> [red]", "good[red].txt"
HOSTILE = (f"[00:00] REP: Hi, this is Tom from Brightline. [bold]Thanks[/bold] for the time :thumbs_up:\n"
           f"[00:05] CUSTOMER: {QUOTE}\n"
           f"[00:12] REP: We are per team | not per seat, unlike [red]Quotient[/red]. Does that help?\n"
           f"[00:20] CUSTOMER: We are evaluating Quotient <iframe src=x></iframe> right now [mm:ss] \x1b[31m.\n")
MEGABYTE = "word " * 200_000  # one unpunctuated megabyte: the shape that made the question count quadratic
PERIOD = ["--since", "2026-10-01", "--until", "2026-10-31"]
BACKWARDS = ["--since", "2026-10-05", "--until", "2026-10-01"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, prefect_harness):
    """Two calls analysed from text transcripts: one full of markup and HTML by a rep called `Tom [/x]` in a file
    called `good[red].txt`, and one whose customer says a megabyte without a stop."""
    tmp = tmp_path_factory.mktemp("hostile")
    (tmp / FILE).write_text(HOSTILE, encoding="utf-8")
    (tmp / "long.txt").write_text(f"[00:00] REP: Hello, shall we start?\n[00:05] CUSTOMER: {MEGABYTE}\n")
    (tmp / "calls.csv").write_text("path,date,rep,account,deal_id\n"
                                   f"{tmp / FILE},2026-10-05,{REP},{ACCOUNT},D-1\n"
                                   f"{tmp / 'long.txt'},2026-10-06,Ann,Long Talk Ltd,D-2\n", encoding="utf-8")
    (tmp / "deals.csv").write_text(f"deal_id,outcome,amount,close_date,stage,rep\nD-1,lost,1000,2026-10-26,Lost,{REP}\n"
                                   "D-2,won,2000,2026-10-27,Won,Ann\n", encoding="utf-8")
    data = tmp / "data"
    done = _cli(data, "analyze", "--manifest", str(tmp / "calls.csv"), "--deals", str(tmp / "deals.csv"))
    assert done.exit_code == 0, done.output
    calls = {Path(c["path"]).name: c["call_id"] for c in json.loads(_cli(data, "calls", "--json").stdout)}
    return data, calls


@pytest.fixture()
def wide(monkeypatch):
    """A terminal wide enough that no table cell wraps, so an assertion can find a quote whole."""
    # Rich reads COLUMNS once, when the module-level console is made; its public width setter would leave a fixed
    # width behind, where restoring `_width` gives the other tests their automatic width back.
    monkeypatch.setattr(console, "_width", 1000)


def _cli(data: Path, *args: str, env: dict | None = None):
    return CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(data), *args], env=env)


def _ok(data: Path, *args: str) -> str:
    result = _cli(data, *args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.stdout


def _snapshot(data: Path) -> tuple[dict, bytes]:
    return Store(f"sqlite:///{(data / 'winloss.db').resolve()}").counts(), (data / "winloss.db").read_bytes()


def test_markup_and_html_in_data_show_as_themselves_in_every_view(hostile, tmp_path, wide):
    data, calls = hostile
    before = _snapshot(data)
    call = calls[FILE][:8]

    listed = _ok(data, "calls")
    assert REP in listed and ACCOUNT in listed and FILE in listed
    shown = _ok(data, "call", "show", call, "--html", str(tmp_path / "call.html"))
    for text in (REP, FILE, QUOTE, "[bold]Thanks[/bold]", ":thumbs_up:", "[red]Quotient[/red]", "[mm:ss]",
                 "\\x1b[31m", "[competitor:Quotient, objection:price]"):
        assert text in shown, text
    assert "\x1b" not in shown  # an escape sequence in a transcript never reaches the terminal
    page = (tmp_path / "call.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;iframe" in page and "&lt;b&gt;Acme" in page
    assert "<script>alert" not in page and "<iframe" not in page
    assert QUOTE in _ok(data, "search", "the price is too high", "--kind", "objection")
    assert REP in _ok(data, "search", "price", "--rep", REP)
    assert QUOTE in _ok(data, "ask", "Why do we lose to Quotient [/b]?")
    assert REP in _ok(data, "reps", *PERIOD)
    assert REP in _ok(data, "insights", "competitors", "--by", "rep", *PERIOD)

    reports = {fmt: tmp_path / f"report.{fmt}" for fmt in ("md", "html", "json")}
    for fmt, path in reports.items():
        assert str(path) in _ok(data, "report", "--format", fmt, "--out", str(path), *PERIOD)
    markdown = reports["md"].read_text()
    assert "<script" not in markdown and "<iframe" not in markdown and "\\[/b\\]" in markdown
    assert "Tom \\[/x\\]" in markdown and "good\\[red\\].txt" in markdown
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    assert "<script" not in rendered and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "Tom [/x]" in rendered and "(good[red].txt)" in rendered  # shown as the data, links opened by none
    html = reports["html"].read_text()
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html and REP in html
    quotes = [q["text"] for r in json.loads(reports["json"].read_text())["objections"] for q in r["quotes"]]
    assert QUOTE in quotes  # JSON is data: the quote verbatim
    assert _snapshot(data) == before


def test_markdown_escaping_shows_the_data_in_any_renderer():
    data = "a | b <img src=x onerror=alert(1)> &amp; ![pixel](http://x/p.png) [link](javascript:x) `code` *em*\n# h"
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(f"| {md(data)} |\n|---|\n")
    assert "<img" not in rendered and "<a " not in rendered and "<code>" not in rendered and "<em>" not in rendered
    assert "a | b &lt;img src=x onerror=alert(1)&gt; &amp;amp; ![pixel](http://x/p.png)" in rendered
    assert md("p < 0.01") == "p < 0.01"  # a `<` that opens nothing stays readable in the plain-text email
    assert MarkdownIt().render(md_code("a`b``c")).strip() == "<p><code>a`b``c</code></p>"
    assert chat_text("<!channel> & <http://x|y>") == "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"


def test_a_megabyte_without_a_stop_is_counted_split_and_shown_in_seconds(hostile):
    data, calls = hostile
    started = time.perf_counter()
    assert questions(MEGABYTE) == 0 and questions("Why? Why not?") == 2
    assert split_sentences(MEGABYTE) == [MEGABYTE.strip()]
    assert clause_runs(" " * 1_000_000 + "a b c") == [] and len(clause_runs("one two three, " * 100_000)) <= 12
    assert time.perf_counter() - started < 5
    started = time.perf_counter()
    shown = _ok(data, "call", "show", calls["long.txt"][:8])
    assert time.perf_counter() - started < 15  # was 54 s for a tenth of this
    assert shown.count("word") == 200_000


@pytest.mark.parametrize("name, content, problem", [
    ("range.txt", "[1-2.3.4] REP: hi\n", "line 1: `2.3.4` is not a time"),
    ("far.txt", "[00:00] REP: hi\n[99999999:00] CUSTOMER: hello\n", "line 2: time `99999999:00` is outside a call"),
    ("dots.vtt", "WEBVTT\n\n00:00:01..000 --> 00:00:02.000\nhello\n", "line 3: `00:00:01..000` is not a time"),
    ("number.json", '{"monologues": [{"speaker": {"name": "A"}, "terms": [{"start": 0, "end": 1, "text": "hi"}, '
                    '{"start": 1, "end": 2, "text": 5}]}]}', "monologue 0: term 1 text is 5, not a string"),
    ("rev.json", '{"monologues": [{"speaker": 1, "elements": [{"type": "text", "value": 7}]}]}',
     "monologue 0: element 0 value is 7, not a string"),
])
def test_a_bad_transcript_fails_alone_naming_file_line_and_problem(hostile, tmp_path, name, content, problem):
    data, _ = hostile
    before = _snapshot(data)
    bad = tmp_path / name
    bad.write_text(content)
    result = _cli(data, "analyze", str(bad))
    assert result.exit_code == 3, result.output  # analyze's code for "some files failed": the batch went on
    assert f"\n  failed {bad}: {problem}" in result.stdout, result.stdout
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert _snapshot(data)[0] == before[0]


def _slips(data: Path, tmp: Path, call: str) -> list[tuple[list[str], dict | None, str]]:
    folder, file = tmp / "out", tmp / "afile"
    folder.mkdir()
    file.write_text("x")
    return [
        (["report", "--out", str(folder), *PERIOD], None, f"{folder} is a folder: give a file name for the report"),
        (["call", "show", call, "--html", str(folder)], None, f"{folder} is a folder: give a file name for the call"),
        (["call", "show", call, "--html", str(file / "page.html")], None, f"under {file}, which is a file"),
        (["search", "price", *BACKWARDS], None, "--since 2026-10-05 is after --until 2026-10-01"),
        (["ask", "why do we lose?", *BACKWARDS], None, "--since 2026-10-05 is after --until 2026-10-01"),
        (["insights", "objections", *BACKWARDS], None, "--since 2026-10-05 is after --until 2026-10-01"),
        (["reps", *BACKWARDS], None, "--since 2026-10-05 is after --until 2026-10-01"),
        (["report", *BACKWARDS], None, "--since 2026-10-05 is after --until 2026-10-01"),
        (["search", ""], None, "search needs words to look for; the query is empty"),
        (["search", "  "], None, "search needs words to look for"),
        (["ask", ""], None, "ask needs words to look for"),
        (["calls"], {"WINLOSS_REPORT__MIN_SAMPLE": "0"},
         "environment variable WINLOSS_REPORT__MIN_SAMPLE: invalid configuration"),
    ]


def test_slips_are_one_line_errors_that_leave_the_store_and_folders_as_they_were(hostile, tmp_path):
    data, calls = hostile
    before = _snapshot(data)
    for args, env, message in _slips(data, tmp_path, calls[FILE][:8]):
        result = _cli(data, *args, env=env)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith(f"error: {message}") or message in result.stderr.splitlines()[0], \
            (args, result.stderr)
        assert "Traceback" not in result.output
        if env is None:
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        else:  # the config file is innocent: only the variable is blamed
            assert str(CONFIG) not in result.stderr and "(from WINLOSS_REPORT__MIN_SAMPLE)" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "out"] and not any((tmp_path / "out").iterdir())
    assert _snapshot(data) == before
    for args in (["calls"], ["analyze", str(tmp_path / "afile")]):
        result = CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(tmp_path / "afile"), *args])
        assert result.exit_code == 1 and result.stderr == (f"error: {tmp_path / 'afile'}: the data dir is a file, not "
                                                           f"a folder; give --data-dir (or data_dir, WINLOSS_DATA_DIR) "
                                                           f"a folder\n"), result.output


def test_an_error_message_keeps_its_brackets(tmp_path):
    result = CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(tmp_path / "d"), "call", "show",
                                      "[mm:ss]"])
    assert result.exit_code == 1 and "[mm:ss]" in result.stderr, result.output
