"""Call identity: a call is its source (the resolved file and the deal its manifest row names), not its bytes.

What a run is asked to analyse (files, folders, a manifest) becomes a list of Sources; `plan` matches each one
against the stored calls:

- the same file and deal is the same call: its stored content hash and fingerprint decide whether it is analysed
  again, and a changed file replaces its earlier analysis under the same id (labels keep pointing at it);
- a row whose deal was added or corrected (the file's stored deal is no longer in the run) is that same call;
- a file named without a deal (no manifest row) is the call(s) stored for that file, which keep their deal;
- identical bytes under two files or two deals are two calls;
- a file whose stored path no longer exists and whose bytes turn up elsewhere has moved: same call, new path;
- a call stored from a manifest or folder that this run lists in full, and that it no longer finds, is missing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field
from winloss.pipeline.errors import BadInputError
from winloss.pipeline.ingest.crm import Deals, Manifest, ManifestRow, load_deals, load_manifest
from winloss.pipeline.ingest.objects import Objects, ObjectURL, is_object_url
from winloss.pipeline.ingest.transcribe.imported import TRANSCRIPT_SUFFIXES
from winloss.pipeline.models import Call, CallOutcome, Deal, call_key, file_id

if TYPE_CHECKING:
    from winloss.pipeline.storage.store import Store

AUDIO_SUFFIXES = {".wav", ".mp3", ".opus", ".ogg", ".oga", ".flac", ".m4a", ".aac", ".wma", ".webm", ".mp4",
                  ".mkv", ".mov", ".amr"}
INPUT_SUFFIXES = AUDIO_SUFFIXES | TRANSCRIPT_SUFFIXES


class Source(BaseModel):
    """One call as a run was asked for it: a file, its manifest row if any, and the manifest or folder it came
    through (None for a file named on its own)."""

    model_config = ConfigDict(frozen=True)

    path: ObjectURL | Path = Field(union_mode="left_to_right")
    row: ManifestRow | None = None
    origin: str | None = None

    @property
    def deal_id(self) -> str | None:
        return self.row.deal_id if self.row else None


class RunInputs(BaseModel):
    """Everything a run was given, checked: sources, deals, and warnings about the inputs themselves."""

    sources: list[Source]
    deals: list[Deal] = []
    complete: list[str] = []  # origins listed in full: a call stored from one that is not found now is missing
    warnings: list[str] = []


class Planned(BaseModel):
    """A source matched to its call: a stored one (`known`) or a new id."""

    model_config = ConfigDict(frozen=True)

    call: Call
    row: ManifestRow | None = None
    known: bool = False

    @property
    def name(self) -> str:
        return Path(self.call.path).name


def discover(paths: list[Path]) -> list[Path]:
    """Files to analyse: the files named, and every audio or transcript file under the folders named."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES)
        else:
            found.append(path)
    return list(dict.fromkeys(p.resolve() for p in found))


def make_call(path: Path | ObjectURL, row: ManifestRow | None, objects: Objects | None = None) -> Call:
    """The call a file (or an object in storage) stands for, with its content hash; its id is the one a new call
    of this source gets."""
    if isinstance(path, ObjectURL):
        return _object_call(path, row, objects or Objects())
    if not path.exists():
        raise BadInputError(path, "file not found")
    if path.stat().st_size == 0:
        raise BadInputError(path, "empty file (0 bytes): nothing to analyse")
    media = "transcript" if path.suffix.lower() in TRANSCRIPT_SUFFIXES else "audio"
    row = row or ManifestRow(path=path)
    return Call(call_id=call_key(path, row.deal_id), path=str(path), media=media, date=row.date, rep=row.rep,
                account=row.account, deal_id=row.deal_id, content_hash=file_id(path))


def _object_call(url: ObjectURL, row: ManifestRow | None, objects: Objects) -> Call:
    info = objects.info(url)
    if not info.get("size"):
        raise BadInputError(url, "empty object (0 bytes): nothing to analyse")
    media = "transcript" if url.suffix.lower() in TRANSCRIPT_SUFFIXES else "audio"
    row = row or ManifestRow(path=url)
    return Call(call_id=call_key(url, row.deal_id), path=str(url), media=media, date=row.date, rep=row.rep,
                account=row.account, deal_id=row.deal_id, content_hash=objects.content_hash(info))


def _exists(path: str | Path, objects: Objects) -> bool:
    return objects.exists(path) if is_object_url(path) else Path(path).exists()


def gather(paths: list[Path], manifest: Path | None, deals: Path | None, allow_outside: bool = False,
           redact: Callable[[str], str] | None = None) -> RunInputs:
    """Read and check a run's inputs before anything is stored: a refused input changes nothing.

    `redact` masks the manifest's free-text account column (privacy.redact_stored)."""
    deals_file: Deals | None = load_deals(deals) if deals else None
    rows: Manifest | None = load_manifest(manifest, allow_outside) if manifest else None
    if rows and redact:
        rows = rows.model_copy(update={"rows": [r.model_copy(update={"account": redact(r.account)}) if r.account
                                                else r for r in rows.rows]})
    sources, complete = [], []
    if paths:
        for path in paths:
            origin = None
            if path.is_dir():
                origin = str(path.resolve())
                complete.append(origin)
            files = discover([path])
            if not files:
                raise BadInputError(path, f"no audio or transcript files in this folder (looked for "
                                          f"{', '.join(sorted(INPUT_SUFFIXES))})")
            for file in files:
                matched = rows.rows_for(file) if rows else []
                sources += [Source(path=file, row=r, origin=origin) for r in matched] or [
                    Source(path=file, origin=origin)]
    elif rows is not None:
        origin = str(rows.path.resolve())
        complete.append(origin)
        sources = [Source(path=r.path, row=r, origin=origin) for r in rows.rows]
    unique = {(s.path, s.deal_id): s for s in reversed(sources)}  # a file under a folder named twice: once
    return RunInputs(sources=[unique[k] for k in dict.fromkeys((s.path, s.deal_id) for s in sources)],
                     deals=deals_file.deals if deals_file else [], complete=complete,
                     warnings=[*(deals_file.warnings if deals_file else []), *(rows.warnings if rows else [])])


def unknown_deals(inputs: RunInputs, known: set[str], deals: Path | None) -> list[str]:
    """A warning for manifest rows whose deal no deals file gave: their calls would count as outcome unknown."""
    missing = [s for s in inputs.sources if s.deal_id and s.deal_id not in known]
    if not missing:
        return []
    where = f"in {deals}" if deals else "among the stored deals (give --deals deals.csv)"
    listed = ", ".join(f"{s.deal_id} (row {s.row.line})" for s in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return [f"{len(missing)} manifest row(s) name a deal not {where}: {listed}{more}; their calls have no outcome"]


class _Stored:
    """The stored calls, looked up by path and by content hash; each can be matched by one source of a run."""

    def __init__(self, calls: list[Call], wanted: set[tuple[str, str | None]], objects: Objects):
        self.by_path: dict[str, list[Call]] = defaultdict(list)
        self.by_hash: dict[str, list[Call]] = defaultdict(list)
        for c in calls:
            self.by_path[c.path].append(c)
            if c.content_hash:
                self.by_hash[c.content_hash].append(c)
        self.ids = {c.call_id for c in calls}
        self.claimed: set[str] = set()
        self.wanted = wanted  # (path, deal) of every source in the run
        self.objects = objects

    def free(self, calls: list[Call]) -> list[Call]:
        return [c for c in calls if c.call_id not in self.claimed]

    def match(self, call: Call) -> list[Call]:
        """The stored call(s) this source is; empty for a new call."""
        here = self.free(self.by_path[call.path])
        if call.deal_id is None:  # named without its manifest row: the calls of this file, with their deals
            return here
        same = [c for c in here if c.deal_id == call.deal_id]
        if same:
            return same[:1]
        # Stored without a deal, or under a deal no row of this run gives any more: the row's deal was added or
        # corrected, the call (and its labels) stays. A deal the run still gives is a call of its own.
        spare = sorted((c for c in here if (c.path, c.deal_id) not in self.wanted), key=lambda c: c.deal_id is not None)
        return spare[:1]

    def moved_from(self, call: Call) -> list[Call]:
        """A stored call with these bytes whose file is gone, when nothing is stored at this path: it moved."""
        if self.by_path[call.path]:
            return []
        return [c for c in self.free(self.by_hash[call.content_hash or ""])
                if not _exists(c.path, self.objects)
                and (call.deal_id is None or c.deal_id in (None, call.deal_id))][:1]

    def new_id(self, call: Call) -> str:
        salt = 0
        while (key := call_key(call.path, call.deal_id, salt)) in self.ids:  # a path or an object URL
            salt += 1
        self.ids.add(key)
        return key


def _merged(stored: Call, new: Call) -> Call:
    """The stored call seen again: its id, the file as it is now, and the facts the new row gives (blank ones
    keep their stored value, so a file analysed again without its manifest keeps its deal)."""
    facts = {k: v for k, v in new.model_dump(exclude={"call_id"}).items() if v is not None}
    return stored.model_copy(update=facts)


def plan(sources: list[Source], store: Store, objects: Objects | None = None
         ) -> tuple[list[Planned], list[CallOutcome]]:
    """Each source's call (stored or new), and outcomes for sources that cannot be read or are gone; `objects`
    reaches the sources in object storage (s3://)."""
    objects = objects or Objects()
    stored = _Stored(store.stored_calls(), {(str(s.path), s.deal_id) for s in sources}, objects)
    planned: list[Planned] = []
    problems: list[CallOutcome] = []
    for source in sources:
        try:
            call = make_call(source.path, source.row, objects).model_copy(update={"origin": source.origin})
        except BadInputError as exc:
            here = [c for c in stored.free(stored.by_path[str(source.path)]) if source.deal_id in (None, c.deal_id)]
            if isinstance(source.path, ObjectURL) and _exists(source.path, objects):
                # an object that is there (or a storage that does not answer) but cannot be read now: its stored
                # calls are failed this run, not missing, so that `--prune` keeps them
                stored.claimed |= {c.call_id for c in here}
                problems += [CallOutcome(path=c.path, status="failed", call_id=c.call_id, problem=exc.problem)
                             for c in here] or [
                    CallOutcome(path=str(source.path), status="failed", problem=exc.problem)]
                continue
            gone = here if not _exists(source.path, objects) else []
            stored.claimed |= {c.call_id for c in gone}
            problems += [_missing(c, "file not found") for c in gone] or [
                CallOutcome(path=str(source.path), status="failed", problem=exc.problem)]
            continue
        matches = stored.match(call) or stored.moved_from(call)
        stored.claimed |= {c.call_id for c in matches}
        planned += [Planned(call=_merged(c, call), row=source.row, known=True) for c in matches] or [
            Planned(call=call.model_copy(update={"call_id": stored.new_id(call)}), row=source.row)]
    return planned, problems


def missing(store: Store, origins: list[str], seen: set[str]) -> list[CallOutcome]:
    """Calls stored from a manifest or folder this run listed in full that it did not find again."""
    return [_missing(c, f"not found in {c.origin} any more") for c in store.stored_calls(origins)
            if c.call_id not in seen]


def _missing(call: Call, why: str) -> CallOutcome:
    return CallOutcome(path=call.path, status="missing", call_id=call.call_id, problem=why)
