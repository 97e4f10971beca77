"""Evaluating what the trainer saves for adapter methods: a soft prompt, LoRA weights."""

from __future__ import annotations

import json

import pytest
import torch

from flanlab.errors import FlanlabError
from flanlab.evaluation.lm import HFLM, adapter_lm, lazy_hflm
from flanlab.evaluation.rank import RankRequest, encode_pair

REQS = [RankRequest("Premise: the cat sleeps. Is the cat awake? OPTIONS:\n- yes\n- no", ("yes", "no")),
        RankRequest("Pick the better way to open a jar.", ("twist the lid open slowly", "twist the jar upside down"))]


def _peft_adapter(base_dir, out, kind: str):
    from peft import LoraConfig, PromptTuningConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    if kind == "prompt":
        cfg = PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=4)
    else:  # random B so that the adapter changes the model
        cfg = LoraConfig(task_type=TaskType.CAUSAL_LM, r=4, target_modules="all-linear", init_lora_weights=False)
    model = get_peft_model(base, cfg)
    if kind == "prompt":
        with torch.no_grad():
            model.prompt_encoder["default"].embedding.weight.normal_(0, 0.5)
    model.save_pretrained(out)
    return model.eval()


def _reference(peft_model, tok, req):
    """Separate forward of the peft model itself per option: summed log-probs of the option tokens."""
    out = []
    for cont in req.continuations:
        ctx, opt = encode_pair(tok, req.context, cont)
        ids = torch.tensor([ctx + opt])
        with torch.no_grad():
            logits = peft_model(input_ids=ids).logits[0]
        logits = logits[-ids.shape[1]:]  # prompt tuning returns the virtual tokens' positions too
        lp = logits.log_softmax(-1)
        out.append(sum(lp[len(ctx) - 1 + i, t].item() for i, t in enumerate(opt)))
    return out


@pytest.mark.parametrize("kind", ["prompt", "lora"])
def test_adapter_scores_equal_the_peft_model(tiny_llama_dir, tiny_tok, tmp_path, kind):
    peft_model = _peft_adapter(tiny_llama_dir, tmp_path / "adapter", kind)
    lm = adapter_lm(tmp_path, batch_size=2)  # the run directory holding adapter/
    got = lm.loglikelihood(REQS)
    for req, scores in zip(REQS, got):
        ref = _reference(peft_model, tiny_tok, req)
        assert [s.logprob for s in scores] == pytest.approx(ref, abs=1e-4)
    # and the adapter matters: the base model scores differently
    from transformers import AutoModelForCausalLM

    base = HFLM(AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval(), tiny_tok, "decoder", "base")
    assert [s.logprob for s in base.loglikelihood(REQS)[1]] != pytest.approx([s.logprob for s in got[1]], abs=1e-3)


def test_soft_prompt_generation_equals_peft_generate(tiny_llama_dir, tiny_tok, tmp_path):
    from flanlab.evaluation.generation import GenRequest

    peft_model = _peft_adapter(tiny_llama_dir, tmp_path / "adapter", "prompt")
    lm = adapter_lm(tmp_path / "adapter", batch_size=2)
    prompts = ["Translate to French: Hello", "Summarize: the cat sat on the mat all day long."]  # padded batch
    gens = lm.generate([GenRequest(p, 6, ()) for p in prompts])
    for p, g in zip(prompts, gens):
        ids = torch.tensor([tiny_tok.encode(p)])
        with torch.no_grad():
            out = peft_model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=6,
                                      do_sample=False, pad_token_id=tiny_tok.pad_token_id,
                                      eos_token_id=tiny_tok.eos_token_id)
        new = out[0, ids.shape[1]:].tolist() if out.shape[1] > 6 else out[0].tolist()
        if tiny_tok.eos_token_id in new:
            new = new[:new.index(tiny_tok.eos_token_id)]
        assert g.text == tiny_tok.decode(new, skip_special_tokens=True).strip()


def test_eval_loads_an_adapter_directory_lazily(tiny_llama_dir, tmp_path):
    _peft_adapter(tiny_llama_dir, tmp_path / "adapter", "prompt")
    lm = lazy_hflm(str(tmp_path / "adapter"))
    assert lm.kind == "decoder" and not lm.loaded and lm.fingerprint.startswith("adapter:")
    assert len(lm.loglikelihood(REQS[:1])[0]) == 2 and lm.loaded


def test_unknown_adapter_type_is_named(tmp_path):
    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "IA3", "base_model_name_or_path": "x"}))
    with pytest.raises(FlanlabError, match="IA3"):
        adapter_lm(tmp_path)
    with pytest.raises(FlanlabError, match="no peft adapter"):
        adapter_lm(tmp_path / "missing")
