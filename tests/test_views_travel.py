"""Links that travel: the HTML report and the call page still open, play and link when their folder is moved, the
emailed report carries no path of this disk, and the weekly trend stays readable. Real analysis through the CLI,
real SMTP on loopback, pages checked in headless Chromium."""

from __future__ import annotations

import csv
import email.message
import itertools
import json
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner
from winloss.cli.app import app
from winloss.pipeline.app import App
from winloss.pipeline.render.links import MediaLinks
from winloss.pipeline.render.report import TREND_SERIES, trend_chart
from winloss.pipeline.render.weekly import weekly_report
from winloss.pipeline.settings import load_settings

from .conftest import CONFIG, EXAMPLES, open_page
from .test_report import _with_delivery, smtp_sink

PERIOD = ["--since", "2026-10-01", "--until", "2026-11-30"]


def _cli(data: Path, *args: str):
    result = CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(data), *args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def pack(tmp_path_factory, prefect_harness):
    """The 24 demo scripts copied into `pack/calls/` (call_03 with its recording), analysed with their deals; the
    report goes to `pack/`, so every quoted call sits below it. Returns (pack folder, data dir)."""
    tmp = tmp_path_factory.mktemp("travel")
    calls = tmp / "pack" / "calls"
    calls.mkdir(parents=True)
    with (EXAMPLES / "calls.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["path"].startswith("calls/")]
    for r in rows:
        name = Path(r["path"]).stem + ".txt"
        shutil.copy(EXAMPLES / "scripts" / name, calls / name)
        r["path"] = str(calls / name)
    shutil.copy(EXAMPLES / "calls" / "call_03.opus", calls)  # one transcript with its recording beside it
    with (tmp / "calls.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    _cli(tmp / "data", "analyze", "--manifest", str(tmp / "calls.csv"), "--deals", str(EXAMPLES / "deals.csv"))
    return tmp / "pack", tmp / "data"


def _hrefs(page) -> list[str]:
    """Every quote link as the browser resolves it against the page's own location."""
    return page.eval_on_selector_all("a.quote", "links => links.map(a => a.href)")


def _file_of(url: str) -> Path:
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "file", url
    return Path(urllib.request.url2pathname(parts.path))


def test_the_report_links_calls_below_it_relatively_and_they_resolve_after_a_move(pack, browser, tmp_path):
    folder, data = pack
    _cli(data, "report", "--format", "html", "--out", str(folder / "report.html"), *PERIOD)
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert "file:" not in text and str(folder) not in text
    assert "href='calls/call_" in text
    assert "href='calls/call_03.opus#t=" in text and "href='calls/call_03.txt" not in text  # the recording, not text
    moved = shutil.move(folder, tmp_path / "elsewhere" / "unzipped")  # the folder as a colleague unpacks it
    try:
        page, errors = open_page(browser, Path(moved) / "report.html", "report_moved.png")
        hrefs = _hrefs(page)
        assert len(hrefs) >= 10 and errors == []
        for href in hrefs:
            target = _file_of(href.split("#", 1)[0])
            assert target.is_file() and target.is_relative_to(Path(moved)), href
            assert "#t=" in href
        page.close()
    finally:
        shutil.move(moved, folder)


def test_calls_outside_the_report_link_through_the_media_base_url(pack, tmp_path):
    folder, data = pack
    settings = load_settings(CONFIG, data_dir=data)
    served = settings.model_copy(update={"report": settings.report.model_copy(update={
        "media_base_url": "https://media.example.com/calls/", "media_root": str(folder)})})
    page = weekly_report(App(served), fmt="html", out=tmp_path / "r.html", **_period()).read_text(encoding="utf-8")
    links = _attr(page, "href")
    assert links and all(h.startswith("https://media.example.com/calls/calls/call_") for h in links), links[:3]
    by_name = settings.model_copy(update={"report": settings.report.model_copy(update={
        "media_base_url": "https://media.example.com/calls"})})
    page = weekly_report(App(by_name), fmt="html", out=tmp_path / "n.html", **_period()).read_text(encoding="utf-8")
    assert all(h.startswith("https://media.example.com/calls/call_") and "#t=" in h for h in _attr(page, "href"))


def _period():
    import datetime as dt

    return {"since": dt.date(2026, 10, 1), "until": dt.date(2026, 11, 30)}


def _attr(page: str, name: str) -> list[str]:
    import re

    return re.findall(rf"{name}='([^']*)'", page)


def _html_parts(message: email.message.EmailMessage) -> list[str]:
    return [part.get_content() for part in message.walk() if part.get_content_type() == "text/html"]


@pytest.mark.parametrize("base_url", ["", "https://media.example.com/c"])
def test_the_emailed_report_carries_no_path_of_this_disk(pack, tmp_path, base_url):
    folder, data = pack
    settings = load_settings(CONFIG, data_dir=data)
    settings = settings.model_copy(update={"report": settings.report.model_copy(update={"media_base_url": base_url})})
    with smtp_sink() as (port, mails):
        weekly_report(App(_with_delivery(settings, port)), fmt=["md", "html"], send=True, **_period())
    [mail] = mails
    written = next((data / settings.report.out_dir).glob("*.html")).read_text(encoding="utf-8")
    # the written file: relative links where it lies, or the served ones when a base URL is set
    assert f"href='{base_url or '../../'}" in written
    bodies = _html_parts(mail)
    assert len(bodies) == 2  # the body and the attached report, the same travelling page
    for body in bodies:
        assert "file:" not in body and str(folder) not in body and "href='../" not in body
        links = _attr(body, "href")
        assert links == [] if not base_url else links and all(h.startswith(f"{base_url}/call_") for h in links)
        assert "<span class='quote'>" in body or links


@pytest.fixture(scope="module")
def gong(tmp_path_factory, prefect_harness):
    """Gong's demo call imported from its Gecko transcript; its recording sits beside the transcript."""
    tmp = tmp_path_factory.mktemp("gong-travel")
    (tmp / "calls.csv").write_text("path,date,rep,account,deal_id,roles\n"
                                   f"{EXAMPLES / 'gong' / 'demo.json'},2026-11-10,Roger,Virgil's company,D-GONG,"
                                   "Roger=rep;Virgil=customer\n")
    _cli(tmp / "data", "analyze", "--manifest", str(tmp / "calls.csv"), "--allow-outside")
    [call] = json.loads(_cli(tmp / "data", "calls", "--json").stdout)
    return tmp / "data", call["call_id"]


def test_a_bundled_call_page_plays_after_its_folder_is_moved(gong, browser, tmp_path):
    data, call_id = gong
    page_path = tmp_path / "share" / "call.html"
    _cli(data, "call", "show", call_id[:8], "--html", str(page_path), "--bundle")
    assert (tmp_path / "share" / "media" / "demo.mp3").stat().st_size == (EXAMPLES / "gong" / "demo.mp3").stat().st_size
    text = page_path.read_text(encoding="utf-8")
    assert "src='media/demo.mp3'" in text and "file:" not in text and str(EXAMPLES) not in text
    moved = Path(shutil.move(tmp_path / "share", tmp_path / "far" / "away"))
    page, errors = open_page(browser, moved / "call.html", "call_page_moved.png")
    page.wait_for_function("document.querySelector('audio').readyState >= 1", timeout=20_000)
    assert page.evaluate("document.querySelector('audio').currentSrc").endswith("/far/away/media/demo.mp3")
    page.locator("li[data-kind='next_step'] a.seek").click()
    page.wait_for_function("document.querySelector('audio').currentTime >= 549", timeout=10_000)
    assert errors == []
    page.close()


def test_an_unbundled_call_page_links_the_recording_without_an_absolute_path(gong, tmp_path):
    data, call_id = gong
    page_path = tmp_path / "call.html"
    _cli(data, "call", "show", call_id[:8], "--html", str(page_path))
    [src] = _attr(page_path.read_text(encoding="utf-8"), "src")
    assert not src.startswith(("/", "file:")) and (tmp_path / urllib.parse.unquote(src)).resolve() == (
        EXAMPLES / "gong" / "demo.mp3").resolve()


def test_media_links_choose_below_then_served_then_relative(tmp_path):
    page = tmp_path / "out" / "r.html"
    inside, outside = tmp_path / "out" / "a b" / "x.mp3", tmp_path / "calls" / "y.mp3"
    links = MediaLinks.for_page(page, "https://m.example/c", str(tmp_path / "calls"))
    assert links.href(inside, 61.7) == "a%20b/x.mp3#t=61"
    assert links.href(outside) == "https://m.example/c/y.mp3"
    assert MediaLinks.for_page(page).href(outside) == "../calls/y.mp3"
    assert links.travelling().href(inside) is None and links.travelling().href(outside) == "https://m.example/c/y.mp3"
    assert MediaLinks.for_page(page, "https://m.example/c", str(tmp_path / "other")).href(outside) == "../calls/y.mp3"
    assert links.href("") is None


def test_the_trend_draws_the_top_themes_with_labels_that_do_not_overlap():
    weeks = [f"2026-W{w:02d}" for w in range(30, 50)]
    trend = [{"week": w, "kind": "objection", "label": f"theme {n}", "calls": (n + i) % 5 + n}
             for i, w in enumerate(weeks) for n in range(7)]
    chart = trend_chart(trend)
    assert [s["label"] for s in chart["series"]] == ["theme 6", "theme 5", "theme 4", "theme 3"][:TREND_SERIES]
    assert chart["hidden"] == 7 - TREND_SERIES
    xs = [w["x"] for w in chart["weeks"]]
    assert len(xs) < len(weeks) and min(b - a for a, b in itertools.pairwise(xs)) > 7 * len(weeks[0])


def test_the_trend_chart_in_chromium_has_a_legend_and_no_overlapping_text(pack, browser):
    folder, data = pack
    _cli(data, "report", "--format", "html", "--out", str(folder / "trend.html"), *PERIOD)
    page, errors = open_page(browser, folder / "trend.html", "trend.png")
    assert errors == []
    lines = page.locator("svg.chart.trend polyline")
    assert 2 <= lines.count() <= TREND_SERIES
    assert page.locator("svg.chart.trend g.legend g.item").count() == lines.count()
    boxes = [b for b in page.eval_on_selector_all(
        "svg.chart.trend text", "ts => ts.map(t => { const r = t.getBoundingClientRect();"
        " return [r.left, r.top, r.right, r.bottom, t.textContent]; })")]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
            assert not overlap, (a[4], b[4])
    svg_right = page.locator("svg.chart.trend").bounding_box()
    assert max(b[2] for b in boxes) <= svg_right["x"] + svg_right["width"] + 0.5  # no legend cut off
    page.close()


def test_a_call_page_moved_without_its_recording_says_so_and_still_navigates(gong, browser, tmp_path):
    data, call_id = gong
    page_path = tmp_path / "share" / "call.html"
    _cli(data, "call", "show", call_id[:8], "--html", str(page_path))
    moved = Path(shutil.move(tmp_path / "share", tmp_path / "a" / "b" / "c" / "d" / "e"))  # the relative src breaks
    page, errors = open_page(browser, moved / "call.html", "call_page_without_media.png")
    page.wait_for_selector("p.missing", state="visible", timeout=10_000)
    assert page.locator("audio").count() == 0
    # the missing recording is the only failure (the request and Chromium's console line for it), and it is shown
    assert errors and all("demo.mp3" in e or e.endswith("net::ERR_FILE_NOT_FOUND") for e in errors), errors
    page.locator("li[data-kind='next_step'] a.seek").click()
    assert page.evaluate("location.hash") == "#u" + page.locator("li[data-kind='next_step'] a.seek").get_attribute(
        "data-u")
    page.close()


def test_templates_are_package_data_autoescaped_and_strict():
    import jinja2
    from winloss.pipeline.insight.deal import DealView, render_html
    from winloss.pipeline.render.templating import environment

    env = environment()
    assert {"report.html.j2", "callpage.html.j2", "deal.html.j2", "_charts.html.j2"} <= set(env.list_templates())
    page = render_html(DealView(deal_id="<script>alert(1)</script>", outcome="lost", calls=[], objections=[],
                                competitors=["<b>Rival</b>"], messages_delivered=[], messages_contradicted=[],
                                messages_missed=[]))
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;Rival&lt;/b&gt;" in page
    with pytest.raises(jinja2.UndefinedError):  # a name the view forgot fails the render, never prints nothing
        env.get_template("report.html.j2").render(title="t")
