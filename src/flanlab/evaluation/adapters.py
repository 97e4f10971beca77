"""Load what `flanlab train` saves for adapter methods: a soft prompt or LoRA weights (peft adapters).

    flanlab eval runs/pt/adapter --tasks rte          # a soft prompt (prompt tuning, paper section 4.5)
    flanlab eval runs/lora/adapter --tasks rte        # LoRA weights, merged into their base model on load
    loaded = load_adapter("runs/pt")                  # a run directory with adapter/ works too
    lm = lm.adapter_lm("runs/pt")                     # the same, as an evaluation-stage LM (evaluation.lm)

This module loads models only; `evaluation.lm` wraps them (lm imports adapters, never the reverse).

Soft prompt: the evaluation stage scores options with one packed forward pass (a 4-D attention mask and
explicit position ids); the wrapper puts the P virtual tokens in front of every row so that scoring works
unchanged: each position also sees the prompt, the prompt sees only itself (causally), positions shift by
P. Rank classification and generation both go through it. LoRA: the base model named in the adapter's
config is resolved through `flanlab.models` and the adapter merged into it (peft), so scoring is the plain
model path. The trainer also writes the merged LoRA model to `model/`; both give the same scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FlanlabError


def _torch():
    import torch

    return torch


def _build_class():
    """The wrapper class, built on first use so that importing this module does not import torch."""
    torch = _torch()

    class _SoftPromptModel(torch.nn.Module):
        def __init__(self, model: Any, prompt: Any):
            super().__init__()
            self.model = model
            self.prompt = torch.nn.Parameter(prompt.to(next(model.parameters()).dtype), requires_grad=False)

        @property
        def config(self):
            return self.model.config

        def get_input_embeddings(self):
            return self.model.get_input_embeddings()

        def _mask(self, mask, b: int, t: int):
            p = self.prompt.shape[0]
            if mask is None or mask.dim() == 2:
                ones = torch.ones((b, p), dtype=torch.long, device=self.prompt.device)
                return None if mask is None else torch.cat([ones, mask.to(ones.dtype)], dim=1)
            allowed = mask if mask.dtype == torch.bool else mask == 0
            full = torch.zeros((b, 1, p + t, p + t), dtype=torch.bool, device=mask.device)
            full[:, :, :p, :p] = torch.ones(p, p, dtype=torch.bool, device=mask.device).tril()
            full[:, :, p:, :p] = True
            full[:, :, p:, p:] = allowed
            if mask.dtype == torch.bool:
                return full
            return torch.zeros(full.shape, dtype=mask.dtype, device=mask.device).masked_fill(
                ~full, torch.finfo(mask.dtype).min)

        def forward(self, input_ids=None, attention_mask=None, position_ids=None, **kw):
            b, t = input_ids.shape
            p = self.prompt.shape[0]
            embeds = self.get_input_embeddings()(input_ids)
            embeds = torch.cat([self.prompt[None].expand(b, -1, -1), embeds], dim=1)
            if position_ids is None:
                position_ids = torch.arange(t, device=input_ids.device)[None].expand(b, -1)
            pos = torch.cat([torch.arange(p, device=input_ids.device)[None].expand(b, -1), position_ids + p], dim=1)
            keep = kw.pop("logits_to_keep", 0)
            if isinstance(keep, torch.Tensor):  # column indices of the caller's row: shift past the prompt
                keep = keep + p
            out = self.model(inputs_embeds=embeds, attention_mask=self._mask(attention_mask, b, t),
                             position_ids=pos, logits_to_keep=keep, **kw)
            if isinstance(keep, int) and keep == 0:  # every position was kept: drop the prompt's
                out.logits = out.logits[:, p:]
            return out

        def generate(self, input_ids=None, attention_mask=None, **kw):
            """transformers' generate from [soft prompt | (left-padded) input]; returns input + new tokens
            like a plain decoder's generate. Positions follow the attention mask (pads skipped), so the
            text starts at position P as in training."""
            b, t = input_ids.shape
            p = self.prompt.shape[0]
            embeds = torch.cat([self.prompt[None].expand(b, -1, -1), self.get_input_embeddings()(input_ids)], dim=1)
            mask = torch.ones((b, t), dtype=torch.long, device=input_ids.device) if attention_mask is None \
                else attention_mask.to(torch.long)
            mask = torch.cat([torch.ones((b, p), dtype=torch.long, device=input_ids.device), mask], dim=1)
            new = self.model.generate(inputs_embeds=embeds, attention_mask=mask, **kw)
            return torch.cat([input_ids, new], dim=1)

    return _SoftPromptModel


def adapter_dir(path: str | Path) -> Path | None:
    """The peft adapter directory at `path` (itself, or a run directory's adapter/), else None."""
    p = Path(path)
    for cand in (p, p / "adapter"):
        if (cand / "adapter_config.json").is_file():
            return cand
    return None


def adapter_config(path: str | Path) -> tuple[Path, dict]:
    import json

    adapter = adapter_dir(path)
    if adapter is None:
        raise FlanlabError(f"{path}: no peft adapter (expected adapter_config.json here or in {Path(path) / 'adapter'})")
    try:
        return adapter, json.loads((adapter / "adapter_config.json").read_text())
    except ValueError as e:
        raise FlanlabError(f"{adapter / 'adapter_config.json'}: not valid JSON ({e})") from None


def adapter_fingerprint(adapter: Path) -> str:
    return f"adapter:{adapter.resolve()}:" + ":".join(
        f"{f.name}={f.stat().st_size}-{f.stat().st_mtime_ns}" for f in sorted(adapter.iterdir()) if f.is_file())


@dataclass(frozen=True)
class LoadedAdapter:
    """A base model with its adapter applied, ready to score: what `evaluation.lm.HFLM` wraps."""

    model: Any
    tokenizer: Any
    kind: str
    name: str
    fingerprint: str


def load_adapter(path: str | Path, *, device: str | None = None, dtype: str | None = None) -> LoadedAdapter:
    """A soft prompt or LoRA adapter on its base model (see the module docstring)."""
    _, acfg = adapter_config(path)
    kind = acfg.get("peft_type")
    if kind == "PROMPT_TUNING":
        return load_soft_prompt(path, device=device, dtype=dtype)
    if kind == "LORA":
        return load_lora(path, device=device, dtype=dtype)
    raise FlanlabError(f"{path}: peft_type {kind!r} cannot be evaluated (known: PROMPT_TUNING, LORA)")


def load_lora(path: str | Path, *, device: str | None = None, dtype: str | None = None) -> LoadedAdapter:
    """Base model + LoRA adapter, merged (peft)."""
    from peft import PeftModel

    from ..models import resolve_model

    adapter, acfg = adapter_config(path)
    base = resolve_model(acfg["base_model_name_or_path"], device=device, dtype=dtype)
    try:
        model = PeftModel.from_pretrained(base.model, str(adapter)).merge_and_unload().eval()
    except (ValueError, KeyError, RuntimeError) as e:
        raise FlanlabError(f"{adapter}: the LoRA adapter does not fit its base model "
                           f"{acfg['base_model_name_or_path']!r}: {e}") from None
    return LoadedAdapter(model, base.tokenizer, base.kind, f"{acfg['base_model_name_or_path']}+lora",
                         adapter_fingerprint(adapter))


def load_soft_prompt(run_dir: str | Path, *, device: str | None = None, dtype: str | None = None) -> LoadedAdapter:
    """The base model wrapped so that the soft prompt saved at `run_dir` (the adapter directory or the run
    directory holding adapter/) precedes every row."""
    from safetensors.torch import load_file

    from ..models import resolve_model

    adapter, acfg = adapter_config(run_dir)
    if acfg.get("peft_type") != "PROMPT_TUNING":
        raise FlanlabError(f"{adapter}: peft_type {acfg.get('peft_type')!r} is not a soft prompt (PROMPT_TUNING)")
    weights = load_file(str(adapter / "adapter_model.safetensors"))
    key = next((k for k in weights if "prompt_embeddings" in k), None)
    if key is None:
        raise FlanlabError(f"{adapter}: no prompt_embeddings tensor among {sorted(weights)[:5]}")
    base = resolve_model(acfg["base_model_name_or_path"], device=device, dtype=dtype)
    if base.kind != "decoder":
        raise FlanlabError("soft-prompt scoring supports decoder-only models")
    model = _build_class()(base.model, weights[key]).eval()
    return LoadedAdapter(model, base.tokenizer, base.kind, f"{acfg['base_model_name_or_path']}+soft-prompt",
                         adapter_fingerprint(adapter))
