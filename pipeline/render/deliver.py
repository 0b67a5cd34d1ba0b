"""Deliver a written report: email over SMTP (HTML body, files attached) and a Slack-compatible incoming webhook.

Hosts and addresses come from config; credentials and the webhook URL (a secret in Slack) only from the
environment. Each channel is retried with backoff; a failure is reported, never raised, and the report files
stay where they were written.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from pydantic import BaseModel
from winloss.pipeline.settings import DeliverySettings

log = logging.getLogger(__name__)
SMTP_USER, SMTP_PASSWORD, WEBHOOK_URL = "WINLOSS_SMTP_USER", "WINLOSS_SMTP_PASSWORD", "WINLOSS_WEBHOOK_URL"


class Delivery(BaseModel):
    channel: str
    target: str
    ok: bool
    attempts: int
    error: str | None = None


def _retry(channel: str, target: str, attempts: int, backoff_s: float, send: Callable[[], None],
           secret: str | None = None) -> Delivery:
    """Send with retries and backoff; `secret` (a hook URL) never appears in what is logged or returned."""
    error = None
    for attempt in range(1, attempts + 1):
        try:
            send()
            return Delivery(channel=channel, target=target, ok=True, attempts=attempt)
        # urllib's errors are OSErrors too; it raises ValueError (quoting the URL) for a URL it cannot use
        except (OSError, ValueError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
            if secret:
                error = error.replace(secret, target)
            log.warning("%s delivery to %s failed (attempt %d of %d): %s", channel, target, attempt, attempts, error)
            if attempt < attempts:
                time.sleep(backoff_s * 2 ** (attempt - 1))
    return Delivery(channel=channel, target=target, ok=False, attempts=attempts, error=error)


def email(files: list[Path], subject: str, settings: DeliverySettings, html: str | None = None) -> Delivery:
    """One message: the HTML report as the body (Markdown as the plain alternative), every file attached. `html`
    is the HTML report as it travels (links only through the media base URL): body and attachment both, in place of
    the written file, whose links are relative to the folder it sits in."""
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, settings.email_from, ", ".join(settings.email_to)
    by_suffix = {f.suffix: f for f in files}
    msg.set_content(by_suffix[".md"].read_text(encoding="utf-8") if ".md" in by_suffix else subject)
    if ".html" in by_suffix:
        msg.add_alternative(html or by_suffix[".html"].read_text(encoding="utf-8"), subtype="html")
    for f in files:
        kind, _ = mimetypes.guess_type(f.name)
        maintype, subtype = (kind or "application/octet-stream").split("/", 1)
        content = html.encode() if html and f.suffix == ".html" else f.read_bytes()
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=f.name)

    def send() -> None:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_s) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if os.environ.get(SMTP_USER):
                smtp.login(os.environ[SMTP_USER], os.environ.get(SMTP_PASSWORD, ""))
            smtp.send_message(msg)

    return _retry("email", ", ".join(settings.email_to), settings.attempts, settings.backoff_s, send)


def webhook(text: str, url: str, settings: DeliverySettings) -> Delivery:
    """POST {"text": ...} as JSON, the payload Slack, Mattermost and Teams-compatible hooks accept."""
    body = json.dumps({"text": text}).encode()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:  # would fail deep in urllib, quoting the URL
        return Delivery(channel="webhook", target=WEBHOOK_URL, ok=False, attempts=0,
                        error=f"{WEBHOOK_URL} is not an http(s) URL; it must start with https:// (not sent)")
    port = f":{parts.port}" if parts.port else ""
    shown = f"{parts.scheme}://{parts.hostname}{port}/…"  # a hook's path and query are its secret: never printed

    def send() -> None:
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=settings.timeout_s) as response:
            if response.status >= 300:
                raise urllib.error.HTTPError(url, response.status, "unexpected status", response.headers, None)

    return _retry("webhook", shown, settings.attempts, settings.backoff_s, send, secret=url)


def deliver(files: list[Path], subject: str, summary: str, settings: DeliverySettings,
            html: str | None = None) -> list[Delivery]:
    """Every configured channel; none configured is an empty list (the files in the report folder are the
    delivery)."""
    out = []
    if settings.email_to:
        out.append(email(files, subject, settings, html))
    if url := os.environ.get(WEBHOOK_URL):
        out.append(webhook(summary, url, settings))
    return out
