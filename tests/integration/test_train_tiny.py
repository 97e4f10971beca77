"""End to end on tiny random models: overfitting, reload and generation, LoRA, prompt tuning, T5, bad input."""

from __future__ import annotations

import errno
import json

import pytest
import torch

from flanlab.errors import FlanlabError
from flanlab.training.config import TrainConfig
from flanlab.testing import ListMixture

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("one_torch_thread")]

PAIRS = [("Premise: A man is playing a guitar. Does he make music?", "yes"),
         ("What is the capital of France?", "Paris"),
         ("Is this movie review positive or negative? the film was great", "positive"),
         ("Translate to French: Hello, how are you?", "Bonjour")]


def _cfg(model_dir, out, **kw) -> TrainConfig:
    base = dict(model=str(model_dir), out=str(out), device="cpu", steps=80, checkpoint={"every": 0},
                optim={"name": "adamw", "lr": 1e-2}, batch={"tokens": 256, "micro_rows": 4},
                mixture={"max_input_len": 48, "max_target_len": 8, "seq_len": 64, "pack_window": 64})
    for k, v in kw.items():
        base[k] = {**base[k], **v} if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return TrainConfig(**base)


def _greedy(model, tok, text: str, encoder_decoder: bool = False) -> str:
    ids = tok(text, add_special_tokens=False, return_tensors="pt").input_ids
    ids = torch.cat([ids, torch.tensor([[tok.eos_token_id]])], 1)  # the training format: input EOS target EOS
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=6)
    new = out[0] if encoder_decoder else out[0, ids.shape[1]:]
    return tok.decode(new, skip_special_tokens=True).strip()


def test_overfits_a_handful_of_examples_and_the_saved_model_generates_them(tiny_llama_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from flanlab.training.train import train

    path = train(_cfg(tiny_llama_dir, tmp_path / "run", steps=150), mixture=ListMixture(PAIRS))
    losses = [json.loads(ln)["loss"] for ln in (path / "metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 150 and losses[-1] < 0.05 < 5.0 < losses[0]
    model_dir = path / "model"
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "README.md"} <= \
        {p.name for p in model_dir.iterdir()}
    model, tok = AutoModelForCausalLM.from_pretrained(model_dir), AutoTokenizer.from_pretrained(model_dir)
    assert [_greedy(model, tok, x) for x, _ in PAIRS] == [y for _, y in PAIRS]
    card = (model_dir / "README.md").read_text()
    assert "held-out clusters" in card and "adamw, learning rate 0.01" in card and "150 steps" in card
    record = json.loads((path / "run.json").read_text())
    assert record["status"] == "finished" and record["summary"]["steps"] == 150
    assert set(record["summary"]["time_split"]) == {"data", "forward", "backward", "optimizer"}


def test_encoder_decoder_trains_and_reloads(tiny_t5_dir, tmp_path):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from flanlab.training.train import train

    path = train(_cfg(tiny_t5_dir, tmp_path / "run", steps=60), mixture=ListMixture(PAIRS[:2]))
    losses = [json.loads(ln)["loss"] for ln in (path / "metrics.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0] / 4
    model = AutoModelForSeq2SeqLM.from_pretrained(path / "model")
    tok = AutoTokenizer.from_pretrained(path / "model")
    assert [_greedy(model, tok, x, encoder_decoder=True) for x, _ in PAIRS[:2]] == ["yes", "Paris"]


def _train_in_process(cfg):
    from flanlab.training import train as T

    s = T.setup(cfg, mixture=ListMixture(PAIRS))
    before = {n: p.detach().clone() for n, p in s.model.named_parameters()}
    T.train_loop(s)
    return s, before


def test_lora_trains_only_adapters_and_exports_a_merged_model(tiny_llama_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    from flanlab.training.export import export_model

    s, before = _train_in_process(_cfg(tiny_llama_dir, tmp_path / "run", steps=5, tuning={"method": "lora"}))
    changed = {n for n, p in s.model.named_parameters() if not torch.equal(p.detach(), before[n])}
    lora = {n for n in before if "lora_" in n}
    assert lora and changed <= lora
    assert any("lora_A" in n for n in changed) and any("lora_B" in n for n in changed)
    export_model(s)
    assert (s.path / "adapter" / "adapter_config.json").is_file()
    merged = AutoModelForCausalLM.from_pretrained(s.path / "model").state_dict()
    base = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).state_dict()
    differs = [k for k in base if not torch.equal(base[k], merged[k])]
    assert differs and all("proj" in k for k in differs)  # LoRA on linear layers, merged into them


def test_prompt_tuning_trains_only_the_soft_prompt(tiny_llama_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from flanlab.training.export import export_model

    cfg = _cfg(tiny_llama_dir, tmp_path / "run", steps=5, tuning={"method": "prompt"}, optim={"lr": 0.3})
    assert cfg.weight_decay == 1e-4 and cfg.tuning.prompt_length == 10
    s, before = _train_in_process(cfg)
    changed = {n for n, p in s.model.named_parameters() if not torch.equal(p.detach(), before[n])}
    assert changed and all("prompt_encoder" in n for n in changed)
    export_model(s)
    peft_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_llama_dir), s.path / "adapter")
    tok = AutoTokenizer.from_pretrained(s.path / "adapter")
    ids = tok("What is the capital of France?", return_tensors="pt").input_ids
    assert peft_model.generate(input_ids=ids, max_new_tokens=3).shape[1] >= ids.shape[1]


class _Empty:
    def stream(self, start=0):
        return iter(())


def test_bad_input_gives_clear_errors(tiny_llama_dir, tmp_path):
    from flanlab.training.train import train

    with pytest.raises(FlanlabError, match="no training examples"):
        train(_cfg(tiny_llama_dir, tmp_path / "a"), mixture=_Empty())
    with pytest.raises(FlanlabError, match="mixture is empty: holding out nli"):  # the real mixture stage
        train(_cfg(tiny_llama_dir, tmp_path / "d", mixture={"include": ["rte"], "holdout": ["nli"], "source": "bundled"}))
    with pytest.raises(FlanlabError, match=r"batch.tokens=8 is smaller than one training row"):
        train(_cfg(tiny_llama_dir, tmp_path / "b", batch={"tokens": 8}), mixture=ListMixture(PAIRS))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(FlanlabError, match="broken"):
        train(_cfg(broken, tmp_path / "c"), mixture=ListMixture(PAIRS))
    assert json.loads((tmp_path / "b" / "run.json").read_text())["status"] == "failed"


def test_full_disk_while_saving_the_model_keeps_the_checkpoint(tiny_llama_dir, tmp_path, monkeypatch):
    from transformers import PreTrainedModel

    from flanlab.training.train import train

    def full(self, *a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(PreTrainedModel, "save_pretrained", full)
    cfg = _cfg(tiny_llama_dir, tmp_path / "run", steps=4, checkpoint={"every": 2})
    with pytest.raises(FlanlabError, match=r"disk is full; the last good checkpoint .*step-4 is untouched"):
        train(cfg, mixture=ListMixture(PAIRS))
    assert (tmp_path / "run" / "checkpoints" / "step-4" / "trainer_state.json").is_file()
    assert not (tmp_path / "run" / "model").exists() and not (tmp_path / "run" / ".model.tmp").exists()


def test_overwrite_starts_clean_and_a_finished_run_is_protected(tiny_llama_dir, tmp_path):
    from flanlab.training.train import train

    cfg = _cfg(tiny_llama_dir, tmp_path / "run", steps=3, checkpoint={"every": 1, "keep": 5})
    train(cfg, mixture=ListMixture(PAIRS))
    with pytest.raises(FlanlabError, match="finished"):
        train(cfg, mixture=ListMixture(PAIRS))
    train(cfg.model_copy(update={"steps": 2}), overwrite=True, mixture=ListMixture(PAIRS))
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 2
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["step-1", "step-2"]
