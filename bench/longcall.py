#!/usr/bin/env python3
"""Memory of the transcription stage against call length: long calls stream, so peak memory stays flat.

Builds mono calls of 10, 30 and 120 minutes by repeating Gong's 9.5-minute demo call (examples/gong/demo.mp3),
then runs winloss's transcription stage (streamed decode, VAD, voice prints and diarization, Whisper tiny.en,
roles) on each in its own process, and reports wall time and peak RSS. For contrast it also reports the peak RSS
of decoding the longest call whole into memory, which is what the stage held before it streamed.

    .venv/bin/python bench/longcall.py                    # 10, 30 and 120 minutes (about 12 min on 2 cores)
    .venv/bin/python bench/longcall.py --minutes 10 30    # a quicker check

Prints one JSON object; figures go to docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(minutes: float, out: Path) -> Path:
    """A 16 kHz mono WAV of `minutes`, Gong's call repeated, written a copy at a time (never whole in memory)."""
    import numpy as np
    from winloss.pipeline.ingest.audio import SAMPLE_RATE, decode

    call = (decode(ROOT / "examples" / "gong" / "demo.mp3").channels[0] * 32767).astype(np.int16)
    want = int(minutes * 60 * SAMPLE_RATE)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        written = 0
        while written < want:
            piece = call[: want - written]
            w.writeframes(piece.tobytes())
            written += len(piece)
    return out


def measure(kind: str, path: Path) -> dict:
    from winloss.pipeline.analyze import Engines
    from winloss.pipeline.ingest.audio import AudioFile, decode
    from winloss.pipeline.ingest.transcribe import transcribe_audio
    from winloss.pipeline.playbook import load_playbook
    from winloss.pipeline.settings import load_settings

    start = time.perf_counter()
    if kind == "decode-whole":
        duration = decode(path).duration
        words = 0
    else:
        settings = load_settings(ROOT / "config" / "winloss.toml")
        engines = Engines(settings, load_playbook(settings.playbook))
        t = settings.transcription
        tr = transcribe_audio("long", AudioFile(path, t.chunk_s), engines.transcriber, t.stereo_roles, t.turn_gap_ms,
                              encoder=engines.speaker_encoder, company_terms=engines.call_transcriber.company_terms)
        duration, words = tr.duration, sum(len(u.text.split()) for u in tr.utterances)
    seconds = time.perf_counter() - start
    return {"kind": kind, "audio_min": round(duration / 60, 1), "wall_s": round(seconds, 1),
            "x_real_time": round(duration / seconds, 1), "words": words,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(sys.argv[2], Path(sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 30, 120])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            path = build(minutes, Path(tmp) / f"call_{minutes:g}min.wav")
            kinds = ["stream"] + (["decode-whole"] if minutes == max(args.minutes) else [])
            for kind in kinds:
                out = subprocess.run([sys.executable, __file__, "--one", kind, str(path)], check=True,
                                     capture_output=True, text=True)
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(json.dumps(rows[-1]), file=sys.stderr)
            path.unlink()
    print(json.dumps({"machine": "see docs/PERFORMANCE.md", "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
