"""The LLM provider: a LangChain chat model from config, called with retries, usage accounting and a reply cache.

Any OpenAI-compatible server works through `llm.base_url` (Ollama, vLLM, LM Studio). The key is read from the env
variable named by `llm.api_key_env`, never from a file. Retries are ours (the client's own are off) so that 429,
5xx, timeouts and replies that fail to parse share one backoff policy, and tests can run it without sleeping.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from winloss.pipeline.errors import ConfigError, LLMError
from winloss.pipeline.settings import LLMSettings

if TYPE_CHECKING:  # langchain_core takes 0.6 s to import: only a command that calls a model pays it
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage

log = logging.getLogger(__name__)
T = TypeVar("T")
# Package data (pyproject maps prompts/ to winloss.prompts): found the same way in a clone and in an installed wheel.
PROMPTS = Path(str(resources.files("winloss.prompts")))


def build_chat_model(settings: LLMSettings) -> BaseChatModel:
    """ChatOpenAI for OpenAI or any OpenAI-compatible server; the client's own retries are off (ours apply)."""
    key = os.environ.get(settings.api_key_env, "")
    if not key and not settings.base_url:
        raise ConfigError(f"the LLM engine needs an API key: set {settings.api_key_env} in the environment, or "
                          f"point llm.base_url at an OpenAI-compatible server (Ollama, vLLM)")
    from langchain_openai import ChatOpenAI

    kwargs: dict[str, Any] = {"model": settings.model, "temperature": settings.temperature,
                              "timeout": settings.timeout_s, "max_retries": 0,
                              "api_key": key or "unused-by-local-servers"}
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    if settings.json_mode:
        kwargs["model_kwargs"] = {"response_format": {"type": "json_object"}}
    return ChatOpenAI(**kwargs)


@dataclass(frozen=True)
class Prompt:
    """A prompt pair from prompts/: NAME.system.md and NAME.user.md, filled with $placeholders."""

    name: str
    system: str
    user: str

    @classmethod
    def load(cls, name: str, folder: Path = PROMPTS) -> Prompt:
        try:
            return cls(name, (folder / f"{name}.system.md").read_text(encoding="utf-8"),
                       (folder / f"{name}.user.md").read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"prompt file missing: {exc.filename}") from None

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.system}\0{self.user}".encode()).hexdigest()[:16]

    def messages(self, **values: str) -> list[BaseMessage]:
        from string import Template

        from langchain_core.messages import HumanMessage, SystemMessage

        return [SystemMessage(Template(self.system).substitute(values)),
                HumanMessage(Template(self.user).substitute(values))]


M = TypeVar("M", bound=BaseModel)


def parse_model(content: str, model: type[M]) -> M:
    """A JSON reply (optionally fenced in ```json) into `model`; ValueError says what is wrong, briefly."""
    text = content.strip()
    if fenced := re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL):
        text = fenced.group(1)
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}" for e in exc.errors()[:5])
        raise ValueError(f"reply does not match the schema: {errors}") from None


@dataclass
class Usage:
    requests: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, message: AIMessage) -> None:
        meta = message.usage_metadata or {}
        self.input_tokens += int(meta.get("input_tokens", 0))
        self.output_tokens += int(meta.get("output_tokens", 0))

    def cost(self, settings: LLMSettings) -> float:
        return round((self.input_tokens * settings.input_cost_per_mtok
                      + self.output_tokens * settings.output_cost_per_mtok) / 1e6, 6)


class ReplyCache:
    """Parsed-and-accepted replies on disk, keyed by (model, prompt digest, request); writes are atomic."""

    def __init__(self, folder: Path):
        self.folder = folder

    @staticmethod
    def key(model: str, prompt_digest: str, messages: list[BaseMessage]) -> str:
        payload = json.dumps([model, prompt_digest, [(m.type, m.content) for m in messages]])
        return hashlib.sha256(payload.encode()).hexdigest()

    def get(self, key: str) -> str | None:
        path = self.folder / f"{key}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))["content"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return None

    def put(self, key: str, content: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"content": content}), encoding="utf-8")
        tmp.replace(self.folder / f"{key}.json")


def _retryable(exc: Exception) -> float | None:
    """Seconds the server asked us to wait (0 when it did not say) if `exc` is worth a retry, else None."""
    import openai

    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError | TimeoutError):
        return 0.0
    if isinstance(exc, openai.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500):
        try:
            return min(float(exc.response.headers.get("retry-after", 0)), 60.0)
        except ValueError:
            return 0.0
    return None


@dataclass
class LLMClient:
    """Asks a chat model for JSON and parses it, retrying transient failures and unparseable replies."""

    model: BaseChatModel
    settings: LLMSettings
    cache: ReplyCache | None = None
    sleep: Callable[[float], None] = time.sleep
    usage: Usage = field(default_factory=Usage)

    def _backoff(self, attempt: int, asked: float) -> float:
        return max(asked, self.settings.retry_base_s * 2 ** attempt * (0.5 + random.random() / 2))

    def ask(self, prompt: Prompt, parse: Callable[[str], T], **values: str) -> T:
        messages = prompt.messages(**values)
        key = ReplyCache.key(self.settings.model, prompt.digest, messages) if self.cache else ""
        if self.cache and (content := self.cache.get(key)) is not None:
            try:
                result = parse(content)
                self.usage.cached += 1
                return result
            except ValueError:
                log.warning("ignoring a cached reply that no longer parses (%s)", key[:12])
        problems: list[str] = []
        for attempt in range(self.settings.max_retries + 1):
            try:
                self.usage.requests += 1
                reply = self.model.invoke(messages)
            except Exception as exc:
                wait = _retryable(exc)
                if wait is None:
                    raise _fatal(exc, self.settings) from exc
                problems.append(f"{type(exc).__name__}: {str(exc)[:120]}")
                if attempt < self.settings.max_retries:
                    self.sleep(self._backoff(attempt, wait))
                continue
            self.usage.add(reply)
            content = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
            try:
                result = parse(content)
            except ValueError as exc:  # malformed JSON or the wrong schema: say what was wrong and ask again
                problems.append(f"unusable reply: {str(exc)[:200]}")
                from langchain_core.messages import AIMessage, HumanMessage

                messages = [*messages[:2], AIMessage(content), HumanMessage(
                    "That reply could not be used: " + str(exc)[:500] +
                    "\nReply again with only the JSON object described in the instructions.")]
                continue
            if self.cache:
                self.cache.put(key, content)
            return result
        raise LLMError(f"the LLM ({self.settings.model}) gave no usable answer after "
                       f"{self.settings.max_retries + 1} attempts: " + "; ".join(problems[-3:]))


def _fatal(exc: Exception, settings: LLMSettings) -> ConfigError | LLMError:
    import openai

    if isinstance(exc, openai.AuthenticationError):
        return ConfigError(f"the LLM server refused the key in {settings.api_key_env} (401); check it")
    if isinstance(exc, openai.NotFoundError):
        return ConfigError(f"the LLM server does not know model {settings.model!r} or the URL "
                           f"{settings.base_url or 'api.openai.com'} is wrong (404)")
    return LLMError(f"the LLM request failed: {type(exc).__name__}: {str(exc)[:300]}")
