"""The model protocol evaluation stands on (`LM`) and its transformers implementation (`HFLM`).

    lm = HFLM.load("smollm2-135m-instruct", batch_size=16)        # through flanlab.models
    lm.loglikelihood([RankRequest("Is it?\\nOPTIONS:\\n- yes\\n- no", ("\\nyes", "\\nno"))])
    lm.generate([GenRequest("Translate to French: Hello.", max_new_tokens=16)])
    lm = adapter_lm("runs/pt")                                   # a peft soft prompt or LoRA adapter

`fingerprint` identifies the weights (it keys the cell cache); `lazy_hflm(name)` computes it without
loading the model, so a rerun whose cells are all cached never loads the weights. The test double
`FakeLM` lives in `flanlab.testing`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .adapters import adapter_config, adapter_dir, adapter_fingerprint, load_adapter, load_soft_prompt
from .generation import DecodeOptions, GenRequest, Generation
from .rank import OptionScore, RankRequest

Progress = Callable[[int], None] | None
# Default cap on a CPU scoring batch, in padded tokens x hidden size (see HFLM): 512 tokens of a 576-wide
# model (SmolLM2-135M), i.e. ~1.2 MB of fp32 hidden states per layer; narrower models get more tokens, up
# to 2,048 (beyond that the attention of wide padded rows costs more than the batching saves: measured on
# a 32-wide model, PIQA/RTE, 2 cores: 1,024-2,048 tokens 15-30% faster than 512 or 9,216).
CPU_BATCH_ACTIVATIONS = 512 * 576
CPU_BATCH_MAX_TOKENS = 2048


@runtime_checkable
class LM(Protocol):
    """What the evaluation stage needs of a model (HFLM, LazyLM, adapters, testing.FakeLM)."""

    name: str
    kind: str  # "decoder" | "encoder-decoder"
    fingerprint: str  # identifies the weights: part of every cell's cache key

    def loglikelihood(self, requests: Sequence[RankRequest], progress: Progress = None) -> list[list[OptionScore]]: ...

    def generate(self, requests: Sequence[GenRequest], progress: Progress = None) -> list[Generation]: ...

    @property
    def eos_text(self) -> str: ...  # the EOS token as text: decoder prompts end with it (training's join)

    def length(self, text: str) -> int: ...  # tokens of a text (few-shot budgets, generation lengths)

    def chat_prompt(self, text: str) -> str: ...  # the text as a user turn of the model's chat template


def weights_fingerprint(path: str | Path, name: str = "") -> str:
    """Hash of the weight and config files' names, sizes and modification times (cheap, no reading)."""
    p = Path(path)
    h = hashlib.sha256(name.encode())
    files = sorted(p.iterdir()) if p.is_dir() else [p] if p.exists() else []
    for f in files:
        if f.is_file() and f.suffix in (".safetensors", ".bin", ".gguf", ".json", ".model", ".pt"):
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    if not files:
        h.update(str(path).encode())  # a hub id: the name is all we know without loading
    return h.hexdigest()[:16]


def cpu_batch_tokens(model: Any) -> int:
    """Padded tokens per CPU scoring batch: CPU_BATCH_ACTIVATIONS / hidden size, within [512, 2048]."""
    width = getattr(model.config, "hidden_size", None) or getattr(model.config, "d_model", None) or 576
    return min(CPU_BATCH_MAX_TOKENS, max(512, CPU_BATCH_ACTIVATIONS // int(width)))


class HFLM:
    """A transformers model + tokenizer; `kind` is "decoder" or "encoder-decoder"."""

    def __init__(self, model: Any, tokenizer: Any, kind: str, name: str = "model", *, batch_size: int = 16,
                 fingerprint: str = "", max_tokens: int | None = None, decode: DecodeOptions | None = None):
        self.model, self.tokenizer, self.kind, self.name = model, tokenizer, kind, name
        # On CPU, small batches are faster (measured on 2 cores, SmolLM2-135M, PIQA: 512-token batches ~2x
        # faster than 16 requests of ~200 tokens: activations stay in cache), so batches are capped by
        # padded tokens there, scaled by the model's width (a 32-wide test model takes 2,048 tokens).
        on_cpu = next(model.parameters()).device.type == "cpu"
        self.batch_size, self.max_tokens = batch_size, max_tokens or (cpu_batch_tokens(model) if on_cpu else None)
        self.decode = decode or DecodeOptions()
        self.fingerprint = fingerprint or f"{name}:{id(model)}"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

    @classmethod
    def load(cls, name: str, *, device: str | None = None, dtype: str | None = None, batch_size: int = 16,
             decode: DecodeOptions | None = None, max_tokens: int | None = None) -> "HFLM":
        from ..models import resolve_model

        lm = resolve_model(name, device=device, dtype=dtype)
        return cls(lm.model, lm.tokenizer, lm.kind, name, batch_size=batch_size, max_tokens=max_tokens,
                   fingerprint=weights_fingerprint(lm.path, f"{name}:{dtype or 'auto'}"), decode=decode)

    @property
    def eos_text(self) -> str:
        return self.tokenizer.eos_token or ""

    def length(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def chat_prompt(self, text: str) -> str:
        from ..mixtures.chat import chat_prompt

        return chat_prompt(self.tokenizer, text)

    def loglikelihood(self, requests: Sequence[RankRequest], progress: Progress = None) -> list[list[OptionScore]]:
        from .rank import score

        return score(self.model, self.tokenizer, self.kind, requests, batch_size=self.batch_size,
                     max_tokens=self.max_tokens, progress=progress)

    def generate(self, requests: Sequence[GenRequest], progress: Progress = None) -> list[Generation]:
        from .generation import generate

        # the prefill is not capped like scoring batches: measured on the tiny model, 32 WMT prompts, one
        # prefill per 16 rows took half the CPU time of 2,048-token groups
        return generate(self.model, self.tokenizer, self.kind, requests, batch_size=self.batch_size,
                        options=self.decode, progress=progress)


class LazyLM:
    """Resolves the model's kind and fingerprint up front, loads the weights on first use."""

    def __init__(self, name: str, loader: Callable[[], Any], kind: str, fingerprint: str):
        self.name, self.kind, self.fingerprint = name, kind, fingerprint
        self._loader, self._lm = loader, None
        self.loaded = False

    def _get(self):
        if self._lm is None:
            self._lm, self.loaded = self._loader(), True
        return self._lm

    @property
    def eos_text(self) -> str:
        return self._get().eos_text

    def length(self, text: str) -> int:
        return self._get().length(text)

    def chat_prompt(self, text: str) -> str:
        return self._get().chat_prompt(text)

    def loglikelihood(self, requests, progress=None):
        return self._get().loglikelihood(requests, progress)

    def generate(self, requests, progress=None):
        return self._get().generate(requests, progress)


def lazy_hflm(name: str, *, device: str | None = None, dtype: str | None = None, batch_size: int = 16,
              decode: DecodeOptions | None = None, max_tokens: int | None = None) -> LazyLM:
    """`HFLM.load(name, ...)` on first use; the kind and fingerprint come from `models.resolve_path`.

    A peft adapter directory (or a run directory holding adapter/, what `flanlab train` writes for
    prompt tuning) is scored through `adapter_lm`.
    """
    from ..models import resolve_path

    if adapter_dir(name) is not None and not (Path(name) / "config.json").is_file():
        adapter, acfg = adapter_config(name)
        kind = resolve_path(acfg["base_model_name_or_path"]).kind
        return LazyLM(name, lambda: adapter_lm(name, device=device, dtype=dtype, batch_size=batch_size,
                                               decode=decode, max_tokens=max_tokens),
                      kind, adapter_fingerprint(adapter))
    ref = resolve_path(name)
    fp = weights_fingerprint(ref.path, f"{name}:{dtype or 'auto'}")
    return LazyLM(name, lambda: HFLM.load(name, device=device, dtype=dtype, batch_size=batch_size, decode=decode,
                                          max_tokens=max_tokens),
                  ref.kind, fp)


def adapter_lm(path: str | Path, *, batch_size: int = 16, device: str | None = None, dtype: str | None = None,
               **hflm_kw) -> HFLM:
    """An evaluation-stage LM for a soft prompt or a LoRA adapter (`adapters.load_adapter`)."""
    return _wrap(load_adapter(path, device=device, dtype=dtype), batch_size, hflm_kw)


def soft_prompt_lm(run_dir: str | Path, *, batch_size: int = 16, device: str | None = None,
                   dtype: str | None = None, **hflm_kw) -> HFLM:
    """An evaluation-stage LM for the soft prompt at `run_dir` (refuses any other adapter)."""
    return _wrap(load_soft_prompt(run_dir, device=device, dtype=dtype), batch_size, hflm_kw)


def _wrap(loaded: Any, batch_size: int, hflm_kw: dict[str, Any]) -> HFLM:
    return HFLM(loaded.model, loaded.tokenizer, loaded.kind, name=loaded.name, batch_size=batch_size,
                fingerprint=loaded.fingerprint, **hflm_kw)
