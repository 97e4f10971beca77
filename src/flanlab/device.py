"""Device and dtype choice: CUDA when present (bf16 where supported), else CPU. Nothing assumes a GPU."""

from __future__ import annotations

import torch

from .errors import FlanlabError


def pick_device(requested: str | None = None) -> torch.device:
    """`requested` is None/'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."""
    if requested in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    try:
        dev = torch.device(requested)
    except RuntimeError as e:
        raise FlanlabError(f"--device {requested!r} is not a device name ({e})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise FlanlabError(f"--device {requested!r}: CUDA is not available on this machine")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise FlanlabError(f"--device {requested!r}: MPS is not available on this machine")
    return dev


def pick_dtype(device: torch.device, requested: str | None = None) -> torch.dtype:
    """'auto' gives bf16 on CUDA devices that support it, fp32 otherwise."""
    names = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16,
             "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}
    if requested in (None, "", "auto"):
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if requested not in names:
        raise FlanlabError(f"--dtype {requested!r} is not one of auto, {', '.join(names)}")
    return names[requested]
