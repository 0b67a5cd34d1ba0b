"""Labels in and out: JSON lines of verdicts, as `winloss labels export` writes them, or the short per-utterance form
a team with labelled data can write itself:

    {"file": "calls/cb_0001.txt", "utterance": 4, "kind": "objection", "label": "price", "verdict": true}

`file` (or `call_id`) names a call already in the store; `utterance` is its 0-based utterance index; `label` is an
objection category or message id, or "*" for the kind itself ("not an objection at all"); `verdict` is true/false
(or "yes"/"no"). The utterance's text is taken from the store. A file is read whole before anything is saved, and a
bad line is an error naming the file and the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from winloss.pipeline.errors import BadInputError, NotFoundError
from winloss.pipeline.models import FindingKind, Label
from winloss.pipeline.storage.store import Store


class _Short(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str | None = None
    call_id: str | None = None
    utterance: int = Field(ge=0)
    kind: FindingKind
    label: str = Field(min_length=1)
    verdict: bool
    who: str | None = None

    @field_validator("verdict", mode="before")
    @classmethod
    def _yes_no(cls, value):
        if isinstance(value, str) and value.strip().lower() in ("yes", "y", "no", "n"):
            return value.strip().lower().startswith("y")
        return value


def dump(labels: Iterable[Label]) -> str:
    return "".join(lb.model_dump_json() + "\n" for lb in labels)


def read(path: Path, store: Store, who: str | None = None) -> list[Label]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise BadInputError(path, "file not found") from None
    except UnicodeDecodeError:
        raise BadInputError(path, "not a UTF-8 text file") from None
    calls = _CallFinder(store, path.parent)
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(_label(json.loads(line), calls, who))
        except json.JSONDecodeError as exc:
            raise BadInputError(path, f"line {number}: not JSON ({exc.msg})") from None
        except ValidationError as exc:
            e = exc.errors()[0]
            where = ".".join(map(str, e["loc"])) or "(line)"
            raise BadInputError(path, f"line {number}, {where}: {e['msg']}") from None
        except (NotFoundError, ValueError) as exc:
            raise BadInputError(path, f"line {number}: {exc}") from None
    if not out:
        raise BadInputError(path, "no labels in the file")
    return out


def _label(data: object, calls: _CallFinder, who: str | None) -> Label:
    if not isinstance(data, dict):
        raise ValueError("each line must be a JSON object")
    if "text" in data:  # the full form, as exported
        return Label.model_validate({"source": "import", **data})
    short = _Short.model_validate(data)
    call_id = calls.find(short.file, short.call_id)
    utterances = calls.utterances(call_id)
    if short.utterance >= len(utterances):
        raise ValueError(f"call {call_id} has {len(utterances)} utterances; there is no utterance {short.utterance}")
    return Label(call_id=call_id, utterance_index=short.utterance, text=utterances[short.utterance], kind=short.kind,
                 label=short.label, verdict=short.verdict, source="import", who=short.who or who)


class _CallFinder:
    """Calls by id (or unique prefix) or by file path (relative to the labels file, or just its name)."""

    def __init__(self, store: Store, base: Path):
        self.store = store
        self.base = base
        self._paths: dict[str, list[str]] | None = None
        self._texts: dict[str, list[str]] = {}

    def find(self, file: str | None, call_id: str | None) -> str:
        if call_id:
            return self.store.resolve_call_id(call_id)
        if not file:
            raise ValueError("name the call: give `file` or `call_id`")
        if self._paths is None:
            self._paths = {}
            for c in self.store.list_calls():
                for key in (str(Path(c.path).resolve()), Path(c.path).name):
                    self._paths.setdefault(key, []).append(c.call_id)
        for key in (str((self.base / file).resolve()), Path(file).name):
            ids = self._paths.get(key, [])
            if len(ids) == 1:
                return ids[0]
            if len(ids) > 1:
                raise ValueError(f"{file} matches {len(ids)} calls; give `call_id` instead")
        raise ValueError(f"no analysed call from {file}; run `winloss analyze` on it first")

    def utterances(self, call_id: str) -> list[str]:
        if call_id not in self._texts:
            self._texts[call_id] = [u.text for u in self.store.transcript(call_id).utterances]
        return self._texts[call_id]
