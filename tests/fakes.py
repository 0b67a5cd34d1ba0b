"""Test doubles for the LLM boundary only: a scripted LangChain chat model and a local OpenAI-compatible server.

Everything on our side of the boundary (prompt rendering, the request, parsing, validation, retries, grounding)
is the real code.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field


class ScriptedChat(BaseChatModel):
    """Replies in order from `script` (a str, or an Exception to raise) and records every request's messages."""

    script: list[Any]
    requests: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.requests.append(list(messages))
        step = self.script[min(len(self.requests), len(self.script)) - 1]
        if isinstance(step, Exception):
            raise step
        usage = {"input_tokens": sum(len(str(m.content)) for m in messages) // 4, "output_tokens": len(step) // 4}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(step, usage_metadata=usage))])


def reply(objections=(), competitors=(), messages=()) -> str:
    return json.dumps({"objections": list(objections), "competitors": list(competitors), "messages": list(messages)})


@dataclass
class Step:
    """One scripted response of the fake server: a status, a reply text (or raw body) and a delay."""

    content: str = ""
    status: int = 200
    tool_call: tuple[str, str] | None = None  # (function name, arguments as JSON): a function-calling reply
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeOpenAI:
    script: list[Step]
    requests: list[dict] = field(default_factory=list)
    url: str = ""

    def next_step(self, body: dict, headers: dict) -> Step:
        self.requests.append({"body": body, "headers": headers})
        return self.script[min(len(self.requests), len(self.script)) - 1]


@contextmanager
def fake_openai_server(script: list[Step]) -> Iterator[FakeOpenAI]:
    """A loopback HTTP server speaking POST /v1/chat/completions like OpenAI, from a script."""
    fake = FakeOpenAI(script)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            step = fake.next_step(body, dict(self.headers))
            if not self.path.endswith("/chat/completions"):
                step = Step(json.dumps({"error": {"message": "not found"}}), status=404)
            time.sleep(step.delay)
            if step.status == 200:
                message = {"role": "assistant", "content": step.content}
                if step.tool_call:
                    name, arguments = step.tool_call
                    message.update(content=None, tool_calls=[{"id": "call_1", "type": "function", "function": {
                        "name": name, "arguments": arguments}}])
                payload = {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": body["model"],
                           "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
                           "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280}}
            else:
                payload = {"error": {"message": step.content or f"scripted {step.status}", "type": "fake"}}
            data = json.dumps(payload).encode()
            try:
                self.send_response(step.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in step.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def post_server(respond):
    """A loopback HTTP server for POSTs: respond(path, headers, body) -> (status, headers, body bytes).

    Yields its base URL (http://127.0.0.1:PORT)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def do_POST(self):
            status, headers, data = respond(self.path, dict(self.headers),
                                            self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(status)
            for key, value in {"Content-Length": str(len(data)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
