"""Call summaries, the call page and rep scorecards: Gong's demo call (its Gecko transcript beside its mp3) and the
scripted demo corpus."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner
from winloss.cli.app import app
from winloss.pipeline.insight import summary
from winloss.pipeline.insight.scorecard import scorecards
from winloss.pipeline.playbook import load_playbook
from winloss.pipeline.providers.llm import LLMClient
from winloss.pipeline.settings import LLMSettings
from winloss.pipeline.storage.store import Store

from .conftest import CONFIG, EXAMPLES
from .fakes import ScriptedChat


@pytest.fixture(scope="module")
def gong(tmp_path_factory, prefect_harness):
    """Gong's demo call imported from its Gecko transcript; its recording (demo.mp3) sits beside it."""
    from winloss.flows.analyze import analyze_calls
    from winloss.pipeline.settings import load_settings

    tmp = tmp_path_factory.mktemp("gong")
    manifest = tmp / "calls.csv"
    manifest.write_text("path,date,rep,account,deal_id,roles\n"
                        f"{EXAMPLES / 'gong' / 'demo.json'},2026-11-10,Roger,Virgil's company,D-GONG,"
                        "Roger=rep;Virgil=customer\n")
    settings = load_settings(CONFIG, data_dir=tmp / "data")
    [outcome] = analyze_calls(settings, [], manifest=manifest, allow_outside=True)
    assert outcome.status == "analysed", outcome.problem
    store = Store(settings.database_url)
    return settings, store, outcome.call_id


def test_the_gong_summary_names_the_key_moments_with_their_times(gong):
    settings, store, call_id = gong
    brief = summary.offline(store.transcript(call_id), store.findings(call_id), load_playbook(settings.playbook),
                            store.call(call_id).date)
    at = {(m.kind, m.at) for m in brief.moments}
    assert ("decision_process", "08:38") in at  # "But are you the primary decision maker?"
    assert ("pricing", "07:03") in at  # "But what are the costs ... pay per print ... or a subscription?"
    assert ("pilot", "08:15") in at  # "Are you offering a pilot program?" and the two-week offer
    meeting = [m for m in brief.moments if m.kind == "next_step"]
    # "next Thursday afternoon" / "two PM", on a call of Tuesday 10 November 2026
    assert [(m.at, m.detail) for m in meeting] == [("09:10", "Thursday 2 PM (Thu 12 Nov 2026 14:00)")]
    assert meeting[0].when == dt.datetime(2026, 11, 12, 14, 0)
    assert [m.start for m in brief.moments] == sorted(m.start for m in brief.moments)
    assert brief.metrics.talk_ratio and 0.4 < brief.metrics.talk_ratio < 0.8  # the rep talks most, not all


def test_the_call_page_seeks_the_recording_in_chromium(gong, browser, tmp_path):
    from .conftest import open_page

    settings, _, call_id = gong
    page_path = tmp_path / "call.html"
    result = CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(settings.data_dir), "call", "show",
                                      call_id[:8], "--html", str(page_path), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["summary"]["engine"] == "offline" and shown["summary"]["metrics"]["customer_questions"] > 0
    page, errors = open_page(browser, page_path, "call_page.png")
    assert page.locator("audio").get_attribute("src").endswith("/examples/gong/demo.mp3")
    page.wait_for_function("document.querySelector('audio').readyState >= 1", timeout=20_000)
    page.locator("li[data-kind='next_step'] a.seek").click()
    page.wait_for_function("document.querySelector('audio').currentTime >= 549", timeout=10_000)
    assert page.evaluate("document.querySelector('audio').currentTime") < 560  # the moment: 549.85 s
    assert page.locator("mark").count() >= 1 and page.locator(".u.rep").count() > 10
    assert errors == []
    page.close()


def test_next_steps_get_real_dates_counted_from_the_call_date():
    from winloss.pipeline.models import Role, Utterance

    def said(*lines: str) -> list[Utterance]:
        return [Utterance(index=i, role=Role.rep if i % 2 == 0 else Role.customer, start=i * 5.0, end=i * 5.0 + 4,
                          text=text) for i, text in enumerate(lines)]

    monday = dt.date(2026, 10, 5)
    [step] = summary.next_steps(said("Can we meet Thursday at 2?", "Sure, Thursday works."), call_date=monday)
    assert (step.detail, step.when) == ("Thursday at 2 (Thu 08 Oct 2026 14:00)", dt.datetime(2026, 10, 8, 14))
    [step] = summary.next_steps(said("Let's book a call tomorrow morning."), call_date=monday)
    assert step.when == dt.date(2026, 10, 6)  # a part of the day is no clock time: the date alone
    [step] = summary.next_steps(said("Shall we schedule the demo for next week?", "Yes, at 10 am."),
                                call_date=dt.date(2026, 12, 30))
    assert step.when == dt.datetime(2027, 1, 6, 10)  # across the year's end
    [step] = summary.next_steps(said("Can we meet Thursday at 2?"))  # no call date: the words alone
    assert (step.detail, step.when) == ("Thursday at 2", None)


def test_an_llm_summary_keeps_only_grounded_items(gong):
    settings, store, call_id = gong
    transcript = store.transcript(call_id)
    decision = next(u for u in transcript.utterances if "decision maker" in u.text)
    reply = json.dumps({
        "needs": [{"text": "Cut travel costs", "utterance": decision.index - 1, "quote": "get you those numbers"}],
        "risks": [{"text": "Needs the management committee", "utterance": decision.index + 1,
                   "quote": "management committee"},
                  {"text": "Invented", "utterance": 3, "quote": "we signed with a competitor yesterday"}],
        "next_steps": [{"text": "Meet Thursday 2 PM", "utterance": 9999, "quote": "two PM"}],
        "coaching_tip": {"text": "Ask about the decision process earlier", "utterance": decision.index,
                         "quote": "primary decision maker"}})
    client = LLMClient(ScriptedChat(script=[reply]), LLMSettings(enabled=True, max_retries=0, cache=False))
    brief, dropped = summary.llm(transcript, store.findings(call_id), load_playbook(settings.playbook), client)
    assert dropped == 3  # a quote from another utterance, an invented quote, an utterance that does not exist
    assert [m.detail for m in brief.risks] == ["Needs the management committee"]
    assert brief.coaching_tip.at == "08:38" and brief.engine == "llm:gpt-4o-mini"
    assert brief.moments  # the offline moments stay


def test_reps_rank_as_planted(script_corpus):
    store = Store(script_corpus.database_url)
    cards, team = scorecards(store, load_playbook(script_corpus.playbook), None, None, 5)
    order = [c.rep for c in cards]
    assert set(order) == {"Maya", "Tom", "Luis", "Priya"}
    tom = next(c for c in cards if c.rep == "Tom")
    maya = next(c for c in cards if c.rep == "Maya")
    assert order[-1] == "Tom" and order[0] == "Maya"  # Tom contradicts messages and leaves objections open
    assert tom.contradictions >= 3 and maya.contradictions == 0
    assert maya.answered_rate > tom.answered_rate and maya.message_adherence > tom.message_adherence
    assert (tom.won, tom.lost) == (1, 3) and not tom.claim and tom.win_rate == 0.25  # 4 closed deals: no claim
    assert set(team) == set(tom.metrics) and all(v is not None for v in team.values())
    out = CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(script_corpus.data_dir), "reps",
                                   "--json"])
    assert out.exit_code == 0 and [r["rep"] for r in json.loads(out.stdout)["reps"]] == order
