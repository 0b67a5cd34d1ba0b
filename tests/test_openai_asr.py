"""The OpenAI transcription engine against a local HTTP fake of the API: the real `openai` client uploads real
audio, retries 429 and 500, and the reply's words go back to the speech regions they were said in."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from winloss.pipeline.errors import ConfigError, LLMError
from winloss.pipeline.ingest.audio import decode
from winloss.pipeline.ingest.transcribe import build_transcriber
from winloss.pipeline.ingest.vad import speech_regions

from .fakes import post_server

WORDS = [("And", 0.3, 0.5), ("so,", 0.5, 0.8), ("my", 1.0, 1.2), ("fellow", 1.2, 1.6), ("Americans,", 1.6, 2.2),
         ("ask", 3.2, 3.5), ("not", 3.5, 3.8)]


@contextmanager
def fake_transcription_api(statuses: list[int]):
    requests: list[dict] = []

    def respond(path: str, headers: dict, body: bytes):
        requests.append({"path": path, "body": body, "auth": headers.get("Authorization")})
        status = statuses[min(len(requests), len(statuses)) - 1]
        payload = {"error": {"message": "slow down", "type": "rate_limit"}} if status != 200 else {
            "text": " ".join(w for w, _, _ in WORDS), "language": "english", "duration": 11.0,
            "words": [{"word": w, "start": s, "end": e} for w, s, e in WORDS],
            "segments": [{"id": 0, "start": 0.3, "end": 3.8, "text": "And so, my fellow Americans, ask not"}]}
        extra = {"retry-after-ms": "10"} if status == 429 else {}
        return status, {"Content-Type": "application/json", **extra}, json.dumps(payload).encode()

    with post_server(respond) as url:
        yield f"{url}/v1", requests


def _transcriber(settings, playbook, **extra):
    ts = settings.transcription.model_copy(update={"engine": "openai", "openai_max_retries": 3, **extra})
    return build_transcriber(ts, playbook)


def test_upload_retry_and_words_back_to_their_regions(settings, playbook, data_dir, monkeypatch):
    audio = decode(data_dir / "jfk.wav").channels[0]
    regions = [(0.0, 2.6), (2.9, 11.0)]  # two turns: the words split between them by time
    with fake_transcription_api([429, 500, 200]) as (url, requests):
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        transcriber = _transcriber(settings, playbook)
        segments = list(transcriber.segments(audio, regions))
    assert transcriber.name == "openai:whisper-1"
    assert len(requests) == 3 and requests[-1]["path"] == "/v1/audio/transcriptions"  # 429, 500, then success
    body = requests[-1]["body"]
    assert b"RIFF" in body and b"WAVE" in body and b"whisper-1" in body and b"verbose_json" in body
    assert requests[-1]["auth"] == "Bearer sk-test"
    assert [(s.start, s.end, s.text) for s in segments] == [(0.3, 2.2, "And so, my fellow Americans,"),
                                                            (3.2, 3.8, "ask not")]


def test_a_server_that_keeps_failing_is_a_clear_error(settings, playbook, data_dir, monkeypatch):
    audio = decode(data_dir / "jfk.wav").channels[0]
    with fake_transcription_api([500]) as (url, requests):
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        with pytest.raises(LLMError, match="transcription request failed after 1 retries"):
            list(_transcriber(settings, playbook, openai_max_retries=1).segments(audio, speech_regions(audio, 300)))
    assert len(requests) == 2


def test_no_key_is_a_config_error(settings, playbook, data_dir, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        list(_transcriber(settings, playbook).segments(decode(data_dir / "jfk.wav").channels[0]))
