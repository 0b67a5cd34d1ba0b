"""The weekly report on the demo corpus: statistics on every row, claims only where the sample allows, a narrative
whose numbers are checked, delivery over real SMTP and HTTP servers on loopback."""

from __future__ import annotations

import datetime as dt
import email
import json
import re
from contextlib import contextmanager
from email import policy

import pytest
from winloss.pipeline.app import App
from winloss.pipeline.insight import narrative
from winloss.pipeline.insight.insights import compute
from winloss.pipeline.playbook import load_playbook
from winloss.pipeline.providers.llm import LLMClient
from winloss.pipeline.render.deliver import WEBHOOK_URL
from winloss.pipeline.render.links import MediaLinks
from winloss.pipeline.render.report import render
from winloss.pipeline.render.weekly import DeliveryFailed, weekly_report
from winloss.pipeline.storage.store import Store

from .fakes import ScriptedChat, post_server

PERIOD = {"since": dt.date(2026, 10, 1), "until": dt.date(2026, 11, 30)}


@pytest.fixture(scope="module")
def insights(script_corpus):
    playbook = load_playbook(script_corpus.playbook)
    return compute(Store(script_corpus.database_url), PERIOD["since"], PERIOD["until"], 5, 3, 0.1,
                   [m.id for m in playbook.messages]), playbook


def test_the_report_surfaces_the_planted_patterns_with_intervals(insights):
    data, playbook = insights
    md = render(data, "md", playbook)
    story = md.split("## Summary", 1)[1].split("##", 1)[0]
    # Quotient loses: 1 of 7 deals won (14%, 95% CI 3–51%) against 8 of 11 without.
    assert "Deals where customers brought up Quotient were won 1 of 7 times (14%, 95% CI 3%–51%)" in story
    assert "against 8 of 11 (73%) otherwise; p = 0.05." in story
    assert re.search(r"\| Quotient \| 8 \| 7 \| 1 \| 6 \| 0 \| 14% \(3%–51%\) \| 73% \| 0\.20 \| wins less often", md)
    assert "| price | " in md and "Answered (every instance in the deal)" in md
    assert "Encounter rate (share of deals): " in md and "Quotient 32%" in md
    # Nothing below the minimum sample is claimed: those rows say so, and the narrative never names them.
    for row in data.objections + data.competitors + data.messages:
        if not row.contrast.claim:
            assert row.contrast.direction == "too few deals"
            assert f"{narrative.name(row)} were won" not in story
    assert "no claim (fewer than 5 closed deals on a side)" in md


def test_json_and_html_carry_the_same_numbers(insights):
    data, playbook = insights
    as_json = json.loads(render(data, "json", playbook))
    quotient = next(r for r in as_json["competitors"] if r["label"] == "Quotient")
    assert quotient["contrast"]["interval"] == [0.0257, 0.5131] and quotient["contrast"]["p_value"] == 0.0498
    assert as_json["narrative"]["engine"] == "offline" and as_json["narrative"]["sentences"]
    page = render(data, "html", playbook)
    assert page.count("<svg class='chart rates'") == 3 and "<svg class='chart trend'" in page
    assert "14% (3%–51%)" in page and "<script" not in page and "http" not in page.replace("http://www.w3.org", "")
    # A page that travels alone links no local file: its quotes name the call and time, unlinked.
    assert "file:" not in page and "<a class='quote'" not in page and "<span class='quote'>call_" in page


def test_an_llm_narrative_keeps_only_sentences_whose_numbers_exist(insights):
    data, playbook = insights
    allowed = narrative.allowed_numbers(data)
    made_up = next(n for n in range(41, 100) if str(n) not in allowed)  # a figure the statistics do not hold
    invented = json.dumps({"narrative": "Quotient came up in 8 calls and 7 deals, of which 6 were lost. "
                                        f"Deals with Quotient close {made_up}% less often. Price objections matter."})
    chat = ScriptedChat(script=[invented])
    settings = _llm_settings()
    story = narrative.llm(data, LLMClient(chat, settings), playbook)
    assert story.sentences == ["Quotient came up in 8 calls and 7 deals, of which 6 were lost.",
                               "Price objections matter."]
    assert story.dropped == 1 and story.engine == "llm:gpt-4o-mini"
    prompt = chat.requests[0]
    assert "p below 0.1 with at least 5" in prompt[0].content and "Quotient" in prompt[1].content
    md = render(data, "md", playbook, story)
    assert "1 sentence(s) of the llm:gpt-4o-mini narrative were dropped" in md


def test_a_narrative_number_not_in_the_statistics_goes_back_and_the_correction_is_kept(insights):
    data, playbook = insights
    made_up = next(n for n in range(41, 100) if str(n) not in narrative.allowed_numbers(data))
    invented = json.dumps({"narrative": f"Deals with Quotient close {made_up}% less often. Price matters."})
    corrected = json.dumps({"narrative": "Quotient came up in 8 calls. Price matters."})
    chat = ScriptedChat(script=[invented, corrected])
    story = narrative.llm(data, LLMClient(chat, _llm_settings().model_copy(update={"max_retries": 1})), playbook)
    assert len(chat.requests) == 2
    assert f"'Deals with Quotient close {made_up}% less often.' states a number that is not in the statistics" in \
        chat.requests[1][-1].content
    assert story.sentences == ["Quotient came up in 8 calls.", "Price matters."] and story.dropped == 0


def _llm_settings():
    from winloss.pipeline.settings import LLMSettings

    return LLMSettings(enabled=True, max_retries=0, cache=False)


@contextmanager
def http_sink(statuses: list[int]):
    """A loopback webhook answering POSTs with the given statuses in turn; yields (url, bodies)."""
    bodies: list[dict] = []

    def respond(path: str, headers: dict, body: bytes):
        bodies.append(json.loads(body))
        return statuses[min(len(bodies), len(statuses)) - 1], {}, b""

    with post_server(respond) as url:
        yield f"{url}/services/T000/B000/secret", bodies


@contextmanager
def smtp_sink():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list[email.message.EmailMessage] = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(message)

        def prepare_message(self, session, envelope):
            return email.message_from_bytes(envelope.content, policy=policy.default)

    from .servers import free_port

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def _with_delivery(settings, port: int, **extra):
    delivery = settings.report.delivery.model_copy(update={"email_to": ["marketing@example.com"],
                                                           "smtp_host": "127.0.0.1", "smtp_port": port,
                                                           "backoff_s": 0.05, **extra})
    return settings.model_copy(update={"report": settings.report.model_copy(update={"delivery": delivery})})


def test_email_and_webhook_delivery(script_corpus, tmp_path, monkeypatch, prefect_harness):
    with smtp_sink() as (port, mails), http_sink([200]) as (url, posts):
        monkeypatch.setenv(WEBHOOK_URL, url)
        path = weekly_report(App(_with_delivery(script_corpus, port)), fmt="html", out=tmp_path / "r.html", send=True,
                             **PERIOD)
    assert path.exists()
    assert len(mails) == 1
    mail = mails[0]
    assert mail["To"] == "marketing@example.com" and "Win/loss report 2026-10-01 to 2026-11-30" in mail["Subject"]
    html_body = mail.get_body(("html",)).get_content()
    assert "<svg class='chart rates'" in html_body
    assert [a.get_filename() for a in mail.iter_attachments()] == ["r.html"]
    assert len(posts) == 1 and "Win/loss report" in posts[0]["text"] and str(path) in posts[0]["text"]


def test_a_failing_channel_is_retried_reported_and_the_report_kept(script_corpus, tmp_path, monkeypatch,
                                                                     prefect_harness):
    with smtp_sink() as (port, mails), http_sink([500, 503, 500]) as (url, posts):
        monkeypatch.setenv(WEBHOOK_URL, url)
        with pytest.raises(DeliveryFailed) as failure:
            weekly_report(App(_with_delivery(script_corpus, port)), fmt="md", out=tmp_path / "r.md", send=True,
                          **PERIOD)
    assert len(posts) == 3  # three attempts, then reported
    message = str(failure.value)
    assert "webhook to http://127.0.0.1" in message and "secret" not in message and "after 3 attempt(s)" in message
    assert f"The report is kept at {tmp_path / 'r.md'}" in message and (tmp_path / "r.md").exists()
    assert len(mails) == 1  # the other channel still delivered


def test_the_html_report_in_headless_chromium(insights, browser, tmp_path):
    from .conftest import ARTIFACTS, open_page

    data, playbook = insights
    path = tmp_path / "report.html"
    path.write_text(render(data, "html", playbook, links=MediaLinks.for_page(path)), encoding="utf-8")
    page, errors = open_page(browser, path, "report.png")
    assert errors == []
    assert page.locator("svg.chart.rates").count() == 3 and page.locator("svg.chart.trend").count() == 1
    bars = page.locator("svg.chart.rates rect")
    assert bars.count() >= 5 and bars.first.bounding_box()["width"] > 0  # drawn, not just present
    links = page.locator("a.quote")
    assert links.count() >= 10 and all("#t=" in links.nth(i).get_attribute("href") for i in range(links.count()))
    assert "Quotient" in page.locator("h2:has-text('Competitors') + figure").inner_text()
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
    page.close()
