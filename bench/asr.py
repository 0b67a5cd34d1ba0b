#!/usr/bin/env python3
"""Speed of winloss's transcription stage against bare faster-whisper, same model and settings.

Each measurement runs in a fresh process (so peak RSS is its own), in both orders. Three kinds: winloss's whole
stage (speech regions, packed decoding, diarization of a mono call), winloss-asr (the same without diarization)
and bare faster-whisper (its own VAD). Prints x real time (audio seconds per wall second) and peak RSS.

    .venv/bin/python bench/asr.py [AUDIO]        # default: examples/gong/demo.mp3 (9.5 min, mono)
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(kind: str, audio_path: Path) -> dict:
    from winloss.pipeline.analyze import Engines
    from winloss.pipeline.ingest.audio import decode
    from winloss.pipeline.ingest.transcribe import transcribe_audio
    from winloss.pipeline.playbook import load_playbook
    from winloss.pipeline.settings import load_settings

    settings = load_settings(ROOT / "config" / "winloss.toml")
    engines = Engines(settings, load_playbook(settings.playbook))
    audio = decode(audio_path)
    t = settings.transcription
    # Model load and CTranslate2's first decode (allocations, thread pool) are not part of the stage being timed:
    # without this warm-up, whichever kind ran first in its process paid a second or two more.
    list(engines.transcriber.model.transcribe(audio.channels[0][: 30 * 16000], language=t.language,
                                              beam_size=t.beam_size)[0])
    if kind == "winloss" and engines.speaker_encoder is not None:
        engines.speaker_encoder.windows([audio.channels[0][: 16000 * 3]])  # loads resemblyzer and librosa
    start = time.perf_counter()
    if kind.startswith("winloss"):  # VAD regions packed into windows; diarization of mono calls unless -asr
        encoder = None if kind == "winloss-asr" else engines.speaker_encoder
        tr = transcribe_audio("bench", audio, engines.transcriber, t.stereo_roles, t.turn_gap_ms,
                              encoder=encoder, company_terms=engines.call_transcriber.company_terms)
        words = sum(len(u.text.split()) for u in tr.utterances)
    else:  # bare faster-whisper: same model, language and beam; its own VAD
        words = 0
        for channel in audio.channels:
            segments, _ = engines.transcriber.model.transcribe(channel, language=t.language, beam_size=t.beam_size,
                                                               vad_filter=True)
            words += sum(len(s.text.split()) for s in segments)
    seconds = time.perf_counter() - start
    return {"kind": kind, "audio_s": round(audio.duration, 1), "wall_s": round(seconds, 1),
            "x_real_time": round(audio.duration / seconds, 2), "words": words,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        print(json.dumps(measure(sys.argv[2], Path(sys.argv[3]))))
        return
    audio = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "gong" / "demo.mp3"
    rows = []
    for order in (("winloss", "winloss-asr", "bare"), ("bare", "winloss-asr", "winloss")):
        for kind in order:
            out = subprocess.run([sys.executable, __file__, "--one", kind, str(audio)], check=True,
                                 capture_output=True, text=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    mean = {}
    for kind in ("winloss", "winloss-asr", "bare"):
        mine = [r["x_real_time"] for r in rows if r["kind"] == kind]
        mean[kind] = sum(mine) / len(mine)
        print(f"{kind}: {mean[kind]:.2f}x real time (mean of {len(mine)})")
    print(f"winloss transcription (no diarization) = {mean['winloss-asr'] / mean['bare']:.2f} x bare faster-whisper")
    print(f"winloss transcription + diarization = {mean['winloss'] / mean['bare']:.2f} x bare faster-whisper")


if __name__ == "__main__":
    main()
