"""Score stored findings against ground-truth labels (examples/labels.jsonl), matching by call and time.

After real ASR, utterance indices differ from script lines, so a finding matches a label of the same kind and
label in the same call when its utterance overlaps the labelled line in time.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from pydantic import BaseModel
from winloss.pipeline.analyze import Engines
from winloss.pipeline.evaluation.speech import DER, der, normalize, read_rttm, read_stm_text, wer
from winloss.pipeline.ingest.audio import DecodedAudio, decode
from winloss.pipeline.ingest.diarize import ResemblyzerEncoder, diarize
from winloss.pipeline.ingest.transcribe import read_transcript, transcribe_audio
from winloss.pipeline.ingest.vad import speech_regions
from winloss.pipeline.models import FlatFinding
from winloss.pipeline.storage.store import Store


class Score(BaseModel):
    kind: str
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _overlaps(a0: float, a1: float, b0: float, b1: float, slack: float = 0.5) -> bool:
    return a0 < b1 + slack and b0 < a1 + slack


def load_labels(path: Path) -> dict[str, list[dict]]:
    by_call: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            by_call[row["call"]].append(row)
    return by_call


def _counts_as(kind: str, finding_kind: str, status: str | None) -> bool:
    """A label or finding counts for `kind`; `contradiction` is the contradicted messages."""
    return finding_kind == kind or (kind == "contradiction" and status == "contradicted")


class Handling(BaseModel):
    """Objection handling on the objections that matched a label: answered right, and accepted right."""

    answered_right: int = 0
    answered_total: int = 0
    accepted_right: int = 0
    accepted_total: int = 0


class Scores(BaseModel):
    kinds: dict[str, Score]
    labels: dict[str, Score]  # "kind:label", e.g. "objection:price"
    handling: Handling


def score(store: Store, labels: Path, customer_only_competitors: bool = False) -> Scores:
    """Precision/recall per finding kind (plus `contradiction`) and per label over the calls that have labels."""
    gold = load_labels(labels)
    stems = {Path(c.path).stem: c.call_id for c in store.list_calls()}
    kinds = ("objection", "competitor", "message", "contradiction")
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    handling = Handling()
    for stem, rows in gold.items():
        if stem not in stems:
            continue
        found: list[FlatFinding] = store.findings(stems[stem])
        for kind in kinds:
            want = [r for r in rows if _counts_as(kind, r["kind"], r.get("status"))]
            got = [f for f in found if _counts_as(kind, f.kind.value, f.status)]
            if kind == "competitor" and customer_only_competitors:
                want = [r for r in want if r["role"] == "customer"]
                got = [f for f in got if f.role.value != "rep"]
            matched: set[int] = set()
            for f in got:
                hit = next((i for i, r in enumerate(want) if i not in matched and r["label"] == f.label
                            and _overlaps(f.start, f.end, r["start"], r["end"])), None)
                counts[kind][0 if hit is not None else 1] += 1
                counts[f"{kind}:{f.label}"][0 if hit is not None else 1] += 1
                if hit is None:
                    continue
                matched.add(hit)
                r = want[hit]
                if kind == "objection" and f.answered is not None:
                    handling.answered_total += 1
                    handling.answered_right += f.answered == r["answered"]
                    if r["answered"] and not r.get("repeat") and f.accepted is not None:
                        handling.accepted_total += 1  # planted: a handled objection is accepted
                        handling.accepted_right += f.accepted
            for i, r in enumerate(want):
                if i not in matched:
                    counts[kind][2] += 1
                    counts[f"{kind}:{r['label']}"][2] += 1
    as_score = {k: Score(kind=k, tp=v[0], fp=v[1], fn=v[2]) for k, v in sorted(counts.items())}
    return Scores(kinds={k: as_score.get(k, Score(kind=k, tp=0, fp=0, fn=0)) for k in kinds},
                  labels={k: v for k, v in as_score.items() if ":" in k and not k.startswith("contradiction:")},
                  handling=handling)


def role_accuracy(store: Store, scripts: Path) -> dict[str, float]:
    """Share of utterances whose role matches the script line they start in, for stereo and mono calls."""
    totals = {"stereo": [0, 0], "mono": [0, 0]}
    for c in store.list_calls():
        script = scripts / f"{Path(c.path).stem}.txt"
        if not script.exists():
            continue
        starts = [(u.start, u.role.value) for u in read_transcript(script, "script").utterances]
        group = totals["stereo" if c.channels == 2 else "mono"]
        for u in store.transcript(c.call_id).utterances:
            expected = max((s for s in starts if s[0] <= u.start + 0.5), default=starts[0])[1]
            group[0] += u.role.value == expected
            group[1] += 1
    return {k: round(v[0] / v[1], 4) if v[1] else 0.0 for k, v in totals.items()}


# -- speech: WER and DER on the bundled evaluation audio (examples/eval) ------------------------------------
class AsrScore(BaseModel):
    name: str
    words: int
    wer_winloss: float
    wer_bare: float


def _bare_text(engines: Engines, audio: np.ndarray) -> str:
    """Bare faster-whisper with the same model, language and beam: its defaults otherwise (its own VAD on)."""
    settings = engines.settings.transcription
    segments, _ = engines.transcriber.model.transcribe(audio, language=settings.language,
                                                       beam_size=settings.beam_size, vad_filter=True)
    return " ".join(s.text.strip() for s in segments)


def evaluate_asr(engines: Engines, eval_dir: Path) -> list[AsrScore]:
    settings = engines.settings.transcription
    cases: list[tuple[str, np.ndarray, str]] = []
    jfk = decode(eval_dir / "jfk.wav").channels[0]
    cases.append(("jfk", jfk, (eval_dir / "jfk.reference.txt").read_text()))
    phone = decode(eval_dir / "pyannote_sample.wav").channels[0]
    cases.append(("pyannote_sample (phone, 2 speakers)", phone, read_stm_text(eval_dir / "pyannote_sample.stm")))
    refs = dict(line.split("\t") for line in (eval_dir / "stereo_diarization.refs.tsv").read_text().splitlines()[1:])
    left, right = decode(eval_dir / "stereo_diarization.wav").channels
    cases += [("stereo_diarization left", left, refs["left"]), ("stereo_diarization right", right, refs["right"])]
    scores = []
    for name, audio, reference in cases:
        ours = transcribe_audio(name, DecodedAudio(path=eval_dir, channels=(audio,)), engines.transcriber,
                                settings.stereo_roles, settings.turn_gap_ms)
        text = " ".join(u.text for u in ours.utterances)
        scores.append(AsrScore(name=name, words=len(normalize(reference)), wer_winloss=round(wer(reference, text), 4),
                               wer_bare=round(wer(reference, _bare_text(engines, audio)), 4)))
    return scores


def _diarized(engines: Engines, path: Path) -> list[tuple[float, float, str]]:
    audio = decode(path).channels[0]
    regions = speech_regions(audio, engines.settings.transcription.turn_gap_ms)
    return [(s, e, f"S{k}") for s, e, k in diarize(audio, regions, engines.speaker_encoder or ResemblyzerEncoder())]


def evaluate_diarization(engines: Engines, eval_dir: Path, gong: Path | None = None,
                         collar: float = 0.25) -> dict[str, DER]:
    """DER of winloss's mono diarization: the pyannote phone sample against its RTTM, and (roughly) Gong's
    recorded call against the speaker spans of its Gecko transcript, which is machine-made, not gold."""
    results = {"pyannote_sample": der(read_rttm(eval_dir / "pyannote_sample.rttm"),
                                      _diarized(engines, eval_dir / "pyannote_sample.wav"), collar=collar)}
    if gong and (gong / "demo.json").exists():
        spans = [(u.start, u.end, u.speaker) for u in read_transcript(gong / "demo.json", "gong").utterances]
        results["gong demo call (Gecko spans)"] = der(spans, _diarized(engines, gong / "demo.mp3"), collar=collar)
    return results
