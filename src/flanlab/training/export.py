"""The final model: a directory any transformers user can load, with a model card.

    <run>/model/     save_pretrained (safetensors), tokenizer, generation_config.json, README.md
    <run>/adapter/   LoRA / prompt-tuning adapter (peft); for LoRA `model/` holds the merged weights

    from transformers import AutoModelForCausalLM, AutoTokenizer
    model = AutoModelForCausalLM.from_pretrained("runs/flan-nli/model")

Written into a temporary folder and renamed, so a failure (a full disk) leaves no half model and never
touches the checkpoints.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import FlanlabError
from ..runs import atomic_write_text


def export_model(s) -> Path | None:
    """Save the trained model of session `s`; every process must call this (state gathering is collective)."""
    from .packed_attention import restore_attention
    from .modeling import hf_model, is_prompt_learning

    acc = s.accelerator
    acc.wait_for_everyone()
    model = s.model
    restore_attention(model)  # the saved config names the model's own attention, not flanlab's
    method = s.cfg.tuning.method
    state_dict = None
    if method == "full":  # gathered, so that FSDP / ZeRO-3 shards come back whole
        state_dict = {k.removeprefix("model."): v for k, v in acc.get_state_dict(s.module).items()}
    if not acc.is_main_process:
        return None
    out = s.path / "model"
    if method != "full":
        _atomic_dir(s.path / "adapter", lambda tmp: _save_adapter(s, model, tmp), s.path)
        if is_prompt_learning(model):
            return s.path / "adapter"  # a soft prompt cannot be merged into the weights
        model = model.merge_and_unload()
    _atomic_dir(out, lambda tmp: _save_full(s, hf_model(model), tmp, state_dict), s.path)
    return out


def _save_full(s, model, tmp: Path, state_dict: dict | None) -> None:
    set_generation_defaults(model, s.tokenizer, s.cfg.mixture.max_target_len)
    model.save_pretrained(tmp, state_dict=state_dict, safe_serialization=True)
    s.tokenizer.save_pretrained(tmp)
    atomic_write_text(tmp / "README.md", model_card(s))


def _save_adapter(s, model, tmp: Path) -> None:
    model.save_pretrained(tmp, safe_serialization=True)
    s.tokenizer.save_pretrained(tmp)
    atomic_write_text(tmp / "README.md", model_card(s, adapter=True))  # replaces peft's generic card


def set_generation_defaults(model, tokenizer, max_new_tokens: int) -> None:
    """Greedy decoding up to the target length, stopping at EOS, padding with the tokenizer's pad."""
    gc = model.generation_config
    gc.eos_token_id = tokenizer.eos_token_id
    gc.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    gc.max_new_tokens = max_new_tokens
    gc.do_sample = False
    for k in ("temperature", "top_p", "top_k"):  # sampling knobs conflict with do_sample=False
        if hasattr(gc, k):
            setattr(gc, k, None)


def _atomic_dir(final: Path, write, run_path: Path) -> None:
    from .checkpoint import latest_checkpoint

    tmp = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        write(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        last = latest_checkpoint(run_path)
        keep = f"; the last good checkpoint {last} is untouched" if last else ""
        reason = "the disk is full" if e.errno in (28, 122) else (e.strerror or str(e))
        raise FlanlabError(f"could not write {final}: {reason}{keep}. Free space and rerun with --resume") from e


def _mixture_lines(s) -> list[str]:
    m = s.cfg.mixture
    lines = [f"- held-out clusters: {', '.join(m.holdout) if m.holdout else '(none)'}"]
    try:
        rates = s.mix.rates()
    except Exception:  # the card must not fail the run; the mixture is described in config.yaml too
        rates = {}
    if rates:
        lines.append(f"- training tasks ({len(rates)}): {', '.join(sorted(rates))}")
    held_out = getattr(getattr(s.mix, "split", None), "held_out", None)
    if held_out:
        lines.append(f"- held-out tasks ({len(held_out)}): {', '.join(sorted(held_out))}")
    for key in ("scheme", "template_mode", "cap", "rate_max", "seed"):
        if hasattr(m, key):
            lines.append(f"- {key}: {getattr(m, key)}")
    return lines


def _recipe_lines(s) -> list[str]:
    c = s.cfg
    m = c.mixture
    return [f"- base model: `{c.model}` ({s.kind})", f"- tuning: {c.tuning.method}",
            f"- optimizer: {c.optim.name}, learning rate {c.lr:g}, {c.optim.schedule} schedule, "
            f"{c.optim.warmup_steps} warm-up steps, weight decay {c.weight_decay:g}",
            f"- steps: {c.steps}, {c.batch.tokens} tokens per step, inputs {m.max_input_len} / targets "
            f"{m.max_target_len} tokens, packing {'on' if m.packing else 'off'}, loss on targets only",
            f"- precision: {s.accelerator.mixed_precision}, seed {c.seed}, processes {s.accelerator.num_processes}"]


def _training_tasks(s) -> list[str]:
    try:
        return sorted(s.mix.rates())
    except Exception:  # the card must not fail the run
        return []


def _hub_datasets(tasks: list[str], s) -> list[str]:
    """The Hub dataset ids of the training tasks (the card's `datasets`), in first-seen order."""
    try:
        from ..tasks import catalogue

        cat = catalogue(s.cfg.mixture.tasks_file or None)
        return list(dict.fromkeys(cat.task(t).source.hub_id for t in tasks if t in cat.tasks and cat.task(t).source.hub_id))
    except Exception:
        return []


def card_metadata(s, adapter: bool = False) -> dict:
    """The card's YAML front matter (Hub model-card metadata, huggingface_hub's ModelCardData keys, plus a
    `flanlab` block: the mixture, held-out clusters and recipe). `flanlab models push` adds the evaluation."""
    from ..models import base_model_id

    c, m = s.cfg, s.cfg.mixture
    tasks = _training_tasks(s)
    held_out = getattr(getattr(s.mix, "split", None), "held_out", None) or {}
    tags = ["flanlab", "instruction-tuning", "flan"] + ({"lora": ["lora"], "prompt": ["prompt-tuning"]}
                                                        .get(c.tuning.method, []))
    meta = {"library_name": "peft" if adapter else "transformers", "base_model": base_model_id(c.model),
            "pipeline_tag": "text2text-generation" if s.kind == "encoder-decoder" else "text-generation",
            "tags": tags, "datasets": _hub_datasets(tasks, s) or None}
    recipe = {"tuning": c.tuning.method, "optimizer": c.optim.name, "lr": c.lr, "schedule": c.optim.schedule,
              "warmup_steps": c.optim.warmup_steps, "weight_decay": c.weight_decay, "steps": c.steps,
              "tokens_per_step": c.batch.tokens, "max_input_len": m.max_input_len,
              "max_target_len": m.max_target_len, "packing": bool(m.packing), "loss": "targets only",
              "precision": str(s.accelerator.mixed_precision), "seed": c.seed,
              "processes": s.accelerator.num_processes}
    if c.tuning.method == "lora":
        recipe.update(lora_r=c.tuning.lora_r, lora_alpha=c.tuning.lora_alpha)
    elif c.tuning.method == "prompt":
        recipe["prompt_length"] = c.tuning.prompt_length
    mixture = {"training_tasks": tasks, **{k: getattr(m, k) for k in ("scheme", "template_mode", "cap", "rate_max",
                                                                      "seed") if hasattr(m, k)}}
    meta["flanlab"] = {"base_model": c.model, "held_out_clusters": list(m.holdout),
                       "held_out_tasks": sorted(held_out), "mixture": mixture, "recipe": recipe}
    return {k: v for k, v in meta.items() if v is not None}


def front_matter(meta: dict) -> str:
    """`---\n<yaml>\n---` through huggingface_hub's ModelCardData (its key order and validation)."""
    from huggingface_hub import ModelCardData

    return "---\n" + ModelCardData(**meta).to_yaml() + "\n---"


def model_card(s, adapter: bool = False) -> str:
    st = s.state
    loss = f"{s.last_loss:.4f}" if s.last_loss is not None else "n/a"
    loader = "AutoModelForSeq2SeqLM" if s.kind == "encoder-decoder" else "AutoModelForCausalLM"
    use = ([f"from peft import AutoPeftModelFor{'Seq2SeqLM' if s.kind == 'encoder-decoder' else 'CausalLM'}",
            f'model = AutoPeftModelFor{"Seq2SeqLM" if s.kind == "encoder-decoder" else "CausalLM"}'
            f'.from_pretrained("{s.path / "adapter"}")'] if adapter else
           [f"from transformers import {loader}, AutoTokenizer",
            f'model = {loader}.from_pretrained("{s.path / "model"}")',
            f'tok = AutoTokenizer.from_pretrained("{s.path / "model"}")'])
    parts = [
        front_matter(card_metadata(s, adapter)), "",
        f"# {s.path.name}", "",
        f"Instruction-tuned with flanlab following FLAN (Wei et al., ICLR 2022) from "
        f"`{s.cfg.model}`.", "", "## Mixture", *_mixture_lines(s), "", "## Recipe", *_recipe_lines(s), "",
        "## Training", f"- final training loss (targets only): {loss}",
        f"- {st.step} steps, {st.examples} examples, {st.tokens} tokens ({st.target_tokens} target tokens), "
        f"{st.elapsed:.0f} s", "", "## Use", "```python", *use, "```", "",
        "The full resolved configuration is in the run directory's `config.yaml`.", ""]
    return "\n".join(parts)
