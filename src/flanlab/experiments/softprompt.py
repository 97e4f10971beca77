"""Score a trained soft prompt with the evaluation stage (the prompt-tuning study, paper section 4.5).

    lm = soft_prompt_lm("runs/x/steps/prompt_tune-.../prompt")     # the training run of the soft prompt
    evaluate(EvalConfig(tasks=["rte"], ...), lm=lm, run=run)

The trainer saves a prompt-tuning run as a peft adapter (`adapter/`) next to the base model it was trained
on. The evaluation stage scores options with one packed forward pass (a 4-D attention mask and explicit
position ids); the wrapper puts the P virtual tokens in front of every row so that scoring works
unchanged: each position also sees the prompt, the prompt sees only itself (causally), positions shift by P.
Rank classification only: the paper's prompt-tuning tasks are SuperGLUE classification tasks.
"""

from __future__ import annotations

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
            out = self.model(inputs_embeds=embeds, attention_mask=self._mask(attention_mask, b, t),
                             position_ids=pos, logits_to_keep=keep, **kw)
            if not keep:  # every position was kept: drop the prompt's
                out.logits = out.logits[:, p:]
            return out

    return _SoftPromptModel


def soft_prompt_lm(run_dir: str | Path, *, batch_size: int = 16):
    """An evaluation-stage LM scoring with the base model + the soft prompt saved in `run_dir/adapter`."""
    import json

    from safetensors.torch import load_file

    from ..evaluation.lm import HFLM
    from ..models import resolve_model

    adapter = Path(run_dir) / "adapter"
    cfg_file = adapter / "adapter_config.json"
    if not cfg_file.is_file():
        raise FlanlabError(f"{run_dir}: no soft prompt (expected a peft adapter in {adapter})")
    acfg = json.loads(cfg_file.read_text())
    if acfg.get("peft_type") != "PROMPT_TUNING":
        raise FlanlabError(f"{adapter}: peft_type {acfg.get('peft_type')!r} is not a soft prompt (PROMPT_TUNING)")
    weights = load_file(str(adapter / "adapter_model.safetensors"))
    key = next((k for k in weights if "prompt_embeddings" in k), None)
    if key is None:
        raise FlanlabError(f"{adapter}: no prompt_embeddings tensor among {sorted(weights)[:5]}")
    base = resolve_model(acfg["base_model_name_or_path"])
    if base.kind != "decoder":
        raise FlanlabError("soft-prompt scoring supports decoder-only models")
    model = _build_class()(base.model, weights[key]).eval()
    return HFLM(model, base.tokenizer, base.kind, name=f"{acfg['base_model_name_or_path']}+soft-prompt",
                batch_size=batch_size, fingerprint=f"softprompt:{adapter.resolve()}:{adapter.stat().st_mtime_ns}")
