"""`winloss deal show`: the demo corpus's two-call deals told in order, with the planted objections answered or not,
the customer-named competitors and the messages, as text, JSON and a page checked in headless Chromium."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

from typer.testing import CliRunner
from winloss.cli.app import app

from .conftest import CONFIG, open_page


def _cli(settings, *args: str):
    return CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(settings.data_dir), *args])


def _view(settings, deal_id: str) -> dict:
    result = _cli(settings, "deal", "show", deal_id, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_lost_deal_shows_its_calls_in_order_and_the_objections_left_unanswered(script_corpus):
    view = _view(script_corpus, "D-1003")  # call_03 then call_22, both Tom's, lost to Quotient
    assert view["outcome"] == "lost" and view["account"] == "Northwind Foods" and view["amount"] == 30000
    assert [(c["date"], Path(c["path"]).name, c["rep"]) for c in view["calls"]] == [
        ("2026-10-09", "call_03.txt", "Tom"), ("2026-11-16", "call_22.txt", "Tom")]
    tallies = {o["label"]: o for o in view["objections"]}
    # planted: price and integration brushed off in call_03, integration again in call_22
    assert not tallies["price"]["handled"] and not tallies["integration"]["handled"]
    assert tallies["integration"]["raised"] >= 2 and {c["call_id"] for c in view["calls"]} == {
        s["call_id"] for c in view["calls"] for s in c["objections"] if s["label"] == "integration"}
    assert view["competitors"] == ["Quotient"]
    first, second = view["calls"]
    assert {(m["label"], m["status"]) for m in first["messages"]} >= {("live_in_two_weeks", "contradicted"),
                                                                      ("native_crm", "delivered")}
    assert {(m["label"], m["status"]) for m in second["messages"]} >= {("native_crm", "contradicted"),
                                                                       ("live_in_two_weeks", "delivered")}
    assert "forecast_accuracy" in view["messages_missed"] and "native_crm" in view["messages_contradicted"]


def test_a_won_deal_answered_every_objection(script_corpus):
    view = _view(script_corpus, "D-1004")  # call_04 and call_21: security raised and handled in both
    assert view["outcome"] == "won" and len(view["calls"]) == 2
    security = next(o for o in view["objections"] if o["label"] == "security")
    assert security["handled"] and security["answered"] == security["raised"] >= 2
    assert all(s["answered"] is True for c in view["calls"] for s in c["objections"] if s["label"] == "security")


def test_the_text_view_and_an_unknown_deal(script_corpus):
    result = _cli(script_corpus, "deal", "show", "D-1003")
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "Deal D-1003" in out and "outcome lost" in out and "objection price: raised" in out
    assert out.index("2026-10-09") < out.index("2026-11-16") and "not answered" in out
    missing = _cli(script_corpus, "deal", "show", "D-NOPE")
    assert missing.exit_code == 1 and "no deal 'D-NOPE'" in missing.output and "Traceback" not in missing.output


def test_the_deal_page_in_chromium_links_each_moment_of_each_call(script_corpus, browser, tmp_path):
    page_path = tmp_path / "deal.html"
    result = _cli(script_corpus, "deal", "show", "D-1003", "--html", str(page_path))
    assert result.exit_code == 0, result.output
    text = page_path.read_text(encoding="utf-8")
    assert "file:" not in text
    page, errors = open_page(browser, page_path, "deal.png")
    assert errors == []
    assert page.locator("section.call").count() == 2
    assert page.locator("table.objections tr").count() >= 3
    assert "Quotient" in page.locator("p.competitors").inner_text()
    hrefs = page.eval_on_selector_all("a.at", "links => links.map(a => a.href)")
    assert len(hrefs) >= 8
    for href in hrefs:
        target = Path(urllib.request.url2pathname(urllib.parse.urlsplit(href).path))
        assert target.is_file() and target.name in ("call_03.txt", "call_22.txt") and "#t=" in href
    page.close()
