"""What gets trained (full weights, LoRA, a soft prompt) and how the loss is computed from the labels.

    model = apply_tuning(model, kind="decoder", tuning=cfg.tuning)     # peft for lora / prompt
    module = LossModule(model, kind="decoder", targets_only=True)
    loss_sum, n = module(**batch)                                       # summed over target tokens

The loss comes only from the upstream `labels` (-100 everywhere except targets): the loop divides the sum
by the number of target tokens in the whole optimizer step, over all processes, so that gradient
accumulation and data parallelism give the same update as one big batch.

`targets_only` runs the decoder body, then the LM head only at positions whose next token is a target.
Targets are a minority of tokens in instruction data and the head (vocabulary x hidden) is a large share of
a small model's compute, so this is faster and gives the same loss (tests/unit/test_training_loss.py).
It is used only where the head is a plain projection (no logit soft-capping or scaling).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..errors import FlanlabError
from ..mixtures.features import IGNORE

# Config attributes that mean logits are not just `lm_head(hidden)`.
_LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier_scale")


def apply_tuning(model, kind: str, tuning) -> Any:
    """Wrap `model` for LoRA or prompt tuning (peft); full fine-tuning returns it unchanged."""
    if tuning.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if hasattr(model.config, "use_cache"):
            model.config.use_cache = False
    if tuning.method == "full":
        return model
    from peft import LoraConfig, PromptTuningConfig, PromptTuningInit, TaskType, get_peft_model

    task = TaskType.SEQ_2_SEQ_LM if kind == "encoder-decoder" else TaskType.CAUSAL_LM
    if tuning.method == "lora":
        targets = tuning.lora_targets
        pcfg = LoraConfig(task_type=task, r=tuning.lora_r, lora_alpha=tuning.lora_alpha,
                          lora_dropout=tuning.lora_dropout, target_modules=targets)
    else:
        disable_attention_dropout(model)
        pcfg = PromptTuningConfig(task_type=task, num_virtual_tokens=tuning.prompt_length,
                                  prompt_tuning_init=PromptTuningInit.RANDOM)
    try:
        return get_peft_model(model, pcfg)
    except (ValueError, TypeError) as e:
        raise FlanlabError(f"tuning.method={tuning.method}: peft cannot wrap this model: {e}") from None


def disable_attention_dropout(model) -> None:
    """No dropout on attention scores (the paper's prompt-tuning setting, section 4.5)."""
    for attr in ("attention_dropout", "attn_pdrop", "attention_probs_dropout_prob"):
        if hasattr(model.config, attr):
            setattr(model.config, attr, 0.0)
    for name, mod in model.named_modules():
        if "attention" in type(mod).__name__.lower():
            for attr in ("dropout", "attention_dropout", "attn_dropout"):
                if isinstance(getattr(mod, attr, None), float):
                    setattr(mod, attr, 0.0)


def hf_model(model):
    """The transformers model inside a peft wrapper (LoRA layers are injected in place)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def is_prompt_learning(model) -> bool:
    cfg = getattr(model, "active_peft_config", None)
    return bool(cfg is not None and cfg.is_prompt_learning)


def supports_targets_only(model, kind: str) -> bool:
    """The decoder body and a plain linear head are reachable, and nothing transforms the logits."""
    if kind != "decoder" or is_prompt_learning(model):
        return False
    hf = hf_model(model)
    body = getattr(hf, "base_model", None)
    head = hf.get_output_embeddings() if hasattr(hf, "get_output_embeddings") else None
    if body is None or body is hf or head is None:
        return False
    return not any(getattr(hf.config, a, None) not in (None, 1, 1.0) for a in _LOGIT_TRANSFORMS)


class LossModule(torch.nn.Module):
    """An nn.Module around `model` whose forward returns (summed target loss, number of target tokens).

    It is what accelerate wraps (DDP/FSDP/DeepSpeed), so the loss computation is inside the wrapped
    forward; `.model` is the trained model.
    """

    def __init__(self, model, kind: str, targets_only: bool = False):
        super().__init__()
        if targets_only and not supports_targets_only(model, kind):
            raise FlanlabError("loss=targets needs a decoder-only model with a plain LM head; use loss=full")
        self.model, self.kind, self.targets_only = model, kind, targets_only
        # FSDP's transformer-based wrapping reads the wrapped module's `_no_split_modules` (the decoder
        # layer classes); without it the whole model would become one FSDP unit.
        self._no_split_modules = list(getattr(hf_model(model), "_no_split_modules", None) or [])

    def forward(self, input_ids, labels, attention_mask=None, position_ids=None, segments=None):
        if self.kind == "encoder-decoder":
            return self._seq2seq(input_ids, labels, attention_mask)
        # segments: packed rows with per-example attention (training.packed_attention), no mask needed
        extra = {"flanlab_segments": segments} if segments is not None else {}
        # HF convention: labels are aligned with input_ids; position t predicts token t+1.
        targets = labels[:, 1:]
        keep = targets != IGNORE
        if self.targets_only:
            hf = hf_model(self.model)
            out = hf.base_model(input_ids=input_ids, attention_mask=attention_mask,
                                position_ids=position_ids, use_cache=False, **extra)
            logits = hf.get_output_embeddings()(out.last_hidden_state[:, :-1][keep])
        else:
            kw = {"position_ids": position_ids, **extra} if position_ids is not None else {}
            logits = self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, **kw).logits
            logits = logits[:, -input_ids.shape[1]:]  # prompt tuning prepends its virtual tokens
            logits = logits[:, :-1][keep]
        return F.cross_entropy(logits.float(), targets[keep], reduction="sum"), keep.sum()

    def _seq2seq(self, input_ids, labels, attention_mask):
        hf = hf_model(self.model)
        decoder_input_ids = hf.prepare_decoder_input_ids_from_labels(labels=labels)
        logits = self.model(input_ids=input_ids, attention_mask=attention_mask,
                            decoder_input_ids=decoder_input_ids, use_cache=False).logits
        keep = labels != IGNORE
        return F.cross_entropy(logits[keep].float(), labels[keep], reduction="sum"), keep.sum()
