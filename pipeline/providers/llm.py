"""The LLM provider: a LangChain chat model from config, asked for structured output, with retries, usage
accounting and a reply cache.

Any OpenAI-compatible server works through `llm.base_url` (Ollama, vLLM, LM Studio). The key is read from the env
variable named by `llm.api_key_env`, never from a file. A prompt pair from prompts/ becomes a `ChatPromptTemplate`;
the reply's shape is a pydantic model, requested with `with_structured_output` (JSON schema by default, function
calling, or JSON mode for servers that know no schemas) and validated by pydantic, then by the caller's own check
(grounding: quotes that are not in the call). A reply that fails either is sent back with what was wrong, once
more for each of `max_retries` (schema) or `corrections` (check).

Retries are ours, not LangChain's `with_retry` (the client's own are off too): that one sends the same request
again, where a reply that failed validation should go back with the error, and it knows no Retry-After. One loop
gives 429, 5xx, timeouts and unusable replies one backoff policy, and tests run it without sleeping.
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
from functools import cached_property
from importlib import resources
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from winloss.pipeline.errors import ConfigError, LLMError
from winloss.pipeline.settings import LLMSettings

if TYPE_CHECKING:  # langchain_core takes 0.6 s to import: only a command that calls a model pays it
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import Runnable

log = logging.getLogger(__name__)
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
    return ChatOpenAI(**kwargs)


@dataclass(frozen=True)
class Prompt:
    """A prompt pair from prompts/: NAME.system.md and NAME.user.md, filled with $placeholders.

    The files keep `$name` placeholders (readable beside the JSON examples they show); `template` is the pair as a
    LangChain `ChatPromptTemplate` (f-string format: the files' braces escaped, `$name` turned into `{name}`).
    """

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

    @cached_property
    def template(self) -> ChatPromptTemplate:
        from langchain_core.prompts import ChatPromptTemplate

        return ChatPromptTemplate.from_messages([("system", _f_string(self.system)), ("human", _f_string(self.user))])

    def messages(self, **values: str) -> list[BaseMessage]:
        missing = set(self.template.input_variables) - set(values)
        if missing:
            raise KeyError(f"prompt {self.name} needs {', '.join(sorted(missing))}")
        return self.template.format_messages(**values)


def _f_string(text: str) -> str:
    """A `$name` template as a LangChain f-string template: braces doubled, `$name` -> `{name}`."""
    return re.sub(r"\$(\w+)|([{}])", lambda m: f"{{{m[1]}}}" if m[1] else m[2] * 2, text)


M = TypeVar("M", bound=BaseModel)


def parse_model(content: str, model: type[M]) -> M:
    """A JSON reply (optionally fenced in ```json) into `model`; ValueError says what is wrong, briefly."""
    text = content.strip()
    if fenced := re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL):
        text = fenced.group(1)
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise ValueError(_schema_errors(exc)) from None


def _schema_errors(exc: ValidationError) -> str:
    errors = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}" for e in exc.errors()[:5])
    return f"reply does not match the schema: {errors}"


def structured(model: BaseChatModel, schema: type[BaseModel], method: str) -> Runnable:
    """messages -> {"raw": AIMessage, "parsed": dict | None, "parsing_error": Exception | None}.

    `with_structured_output` gets the model's JSON schema, not the class: given the class, ChatOpenAI's JSON-schema
    path validates inside the request and raises, losing the reply (and its token usage) that the retry needs.
    A chat model without structured output, or method "prompt", relies on the prompt's own JSON instructions.
    """
    from langchain_core.output_parsers import JsonOutputParser
    from langchain_core.runnables import RunnableMap, RunnablePassthrough

    if method != "prompt":
        try:
            return model.with_structured_output(schema.model_json_schema(), method=method, include_raw=True)
        except NotImplementedError:
            pass
    parsed = RunnablePassthrough.assign(parsed=itemgetter("raw") | JsonOutputParser(), parsing_error=lambda _: None)
    return RunnableMap(raw=model) | parsed.with_fallbacks([RunnablePassthrough.assign(parsed=lambda _: None)],
                                                          exception_key="parsing_error")


def _validated(out: dict, schema: type[M]) -> M:
    """The structured reply as `schema`; ValueError says briefly what is wrong with it."""
    if out.get("parsing_error") is not None:
        raise ValueError(f"no JSON object in the reply: {str(out['parsing_error']).splitlines()[0][:200]}")
    if out.get("parsed") is None:
        raise ValueError("the reply holds no JSON object")
    try:
        return schema.model_validate(out["parsed"])
    except ValidationError as exc:
        raise ValueError(_schema_errors(exc)) from None


def _reply_text(message: AIMessage) -> str:
    """What the model said, as text: its content, or its tool call's arguments as JSON."""
    if isinstance(message.content, str) and message.content:
        return message.content
    if message.tool_calls:
        return json.dumps(message.tool_calls[0]["args"])
    return json.dumps(message.content)


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
    """Asks a chat model for a structured reply, retrying transient failures and replies that fail validation."""

    model: BaseChatModel
    settings: LLMSettings
    cache: ReplyCache | None = None
    sleep: Callable[[float], None] = time.sleep
    usage: Usage = field(default_factory=Usage)

    def _backoff(self, attempt: int, asked: float) -> float:
        return max(asked, self.settings.retry_base_s * 2 ** attempt * (0.5 + random.random() / 2))

    def ask(self, prompt: Prompt, schema: type[M], check: Callable[[M], list[str]] | None = None,
            **values: str) -> M:
        """The reply to `prompt` filled with `values`, as `schema`.

        `check` lists what is wrong with a valid reply (e.g. quotes not in the call); a reply with problems goes
        back with them up to `llm.corrections` times, and the last one is returned as it is (the caller drops what
        it cannot use). A reply that fails the schema goes back with the error, within `llm.max_retries`.
        """
        messages = prompt.messages(**values)
        key = ReplyCache.key(self.settings.model, prompt.digest, messages) if self.cache else ""
        if self.cache and (content := self.cache.get(key)) is not None:
            try:
                result = parse_model(content, schema)
                self.usage.cached += 1
                return result
            except ValueError:
                log.warning("ignoring a cached reply that no longer parses (%s)", key[:12])
        asking = structured(self.model, schema, self.settings.structured_output)
        problems: list[str] = []
        corrections = 0
        for attempt in range(self.settings.max_retries + 1):
            try:
                self.usage.requests += 1
                out = asking.invoke(messages)
            except Exception as exc:
                wait = _retryable(exc)
                if wait is None:
                    raise _fatal(exc, self.settings) from exc
                problems.append(f"{type(exc).__name__}: {str(exc)[:120]}")
                if attempt < self.settings.max_retries:
                    self.sleep(self._backoff(attempt, wait))
                continue
            self.usage.add(out["raw"])
            try:
                result = _validated(out, schema)
            except ValueError as exc:  # malformed JSON or the wrong schema: say what was wrong and ask again
                problems.append(f"unusable reply: {str(exc)[:200]}")
                messages = _again(messages, out["raw"], "That reply could not be used: " + str(exc)[:500] +
                                  "\nReply again with only the JSON object described in the instructions.")
                continue
            wrong = check(result) if check else []
            if wrong and corrections < self.settings.corrections and attempt < self.settings.max_retries:
                corrections += 1
                messages = _again(messages, out["raw"], "Some items of that reply cannot be used:\n"
                                  + "\n".join(f"- {w}" for w in wrong[:20])
                                  + "\nReply again with the whole JSON object, with those items corrected "
                                    "(quotes copied exactly from the cited utterance) or left out.")
                continue
            if self.cache:
                self.cache.put(key, result.model_dump_json())
            return result
        raise LLMError(f"the LLM ({self.settings.model}) gave no usable answer after "
                       f"{self.settings.max_retries + 1} attempts: " + "; ".join(problems[-3:]))


def _again(messages: list[BaseMessage], reply: AIMessage, correction: str) -> list[BaseMessage]:
    """The first request (system, user) with the reply and what was wrong with it: one correction at a time."""
    from langchain_core.messages import AIMessage, HumanMessage

    return [*messages[:2], AIMessage(_reply_text(reply)), HumanMessage(correction)]


def _fatal(exc: Exception, settings: LLMSettings) -> ConfigError | LLMError:
    import openai

    if isinstance(exc, openai.AuthenticationError):
        return ConfigError(f"the LLM server refused the key in {settings.api_key_env} (401); check it")
    if isinstance(exc, openai.NotFoundError):
        return ConfigError(f"the LLM server does not know model {settings.model!r} or the URL "
                           f"{settings.base_url or 'api.openai.com'} is wrong (404)")
    return LLMError(f"the LLM request failed: {type(exc).__name__}: {str(exc)[:300]}")
