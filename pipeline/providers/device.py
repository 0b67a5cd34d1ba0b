"""Where the models run: a GPU when one is there (`device = "auto"`), the CPU otherwise; chosen once per provider.

CTranslate2 (faster-whisper) and PyTorch (MiniLM) each report their own CUDA devices, so each is asked separately.
On a GPU Whisper decodes in float16, its usual precision there; on the CPU it keeps the configured compute type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Device = Literal["auto", "cpu", "cuda"]


@dataclass(frozen=True)
class Placement:
    device: Literal["cpu", "cuda"]
    compute_type: str


def cuda_devices_for_ctranslate2() -> int:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count()
    except Exception:  # a CPU-only build, or a driver that cannot be loaded: no GPU
        return 0


def torch_has_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def whisper_placement(device: Device, compute_type: str, cuda_devices: int | None = None) -> Placement:
    """`cuda_devices`: CTranslate2's count (asked when None)."""
    if device == "auto":
        device = "cuda" if (cuda_devices_for_ctranslate2() if cuda_devices is None else cuda_devices) > 0 else "cpu"
    if device == "cuda" and compute_type in ("float32", "auto"):
        return Placement("cuda", "float16")
    return Placement(device, "float32" if compute_type == "auto" else compute_type)


def torch_device(device: Device, has_cuda: bool | None = None) -> Literal["cpu", "cuda"]:
    if device == "auto":
        return "cuda" if (torch_has_cuda() if has_cuda is None else has_cuda) else "cpu"
    return device
