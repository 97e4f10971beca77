"""Recipe regression tests (as torchtune's): a golden loss trajectory, and every trainable weight moves.

The golden numbers below were produced by this recipe on the tiny model (torch 2.13, CPU, fp32, one thread).
They pin the whole path from text to update: tokenization (input EOS target EOS), packing, per-example
attention, the targets-only loss and the optimizer. A change that moves them changes training results:
if it is intended, say why in the commit and regenerate them with `FLANLAB_REGEN_GOLDEN=1`.
"""

from __future__ import annotations

import json
import os

import pytest
import torch

from flanlab.training.config import TrainConfig

pytestmark = pytest.mark.integration

PAIRS = [("Premise: A man is playing a guitar. Does he make music?", "yes"),
         ("What is the capital of France?", "Paris"),
         ("Is this movie review positive or negative? the film was great", "positive"),
         ("Translate to French: Hello, how are you?", "Bonjour comment allez-vous"),
         ("Summarize: the cat sat on the mat and looked at the birds all afternoon.", "a cat watched birds")]

# Adafactor (the paper's optimizer) at lr 1e-3, 8 steps of 96 tokens, packed rows of 64 tokens.
GOLDEN_LOSSES = [6.21236, 6.296832, 6.19202, 6.089858, 6.388857, 5.987253, 6.120993, 5.891256]


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: reductions in a fixed order, so the numbers repeat exactly
    yield
    torch.set_num_threads(n)


def _mixture():
    try:
        from flanlab.testing import ListMixture
    except ImportError:  # before the test doubles moved to flanlab.testing
        from flanlab.training.data import ListMixture
    return ListMixture(PAIRS)


def _cfg(model_dir, out, **kw) -> TrainConfig:
    base = dict(model=str(model_dir), out=str(out), device="cpu", steps=8, checkpoint={"every": 0},
                optim={"name": "adafactor", "lr": 1e-3}, batch={"tokens": 96, "micro_rows": 2},
                mixture={"max_input_len": 48, "max_target_len": 8, "seq_len": 64, "pack_window": 64})
    base.update(kw)
    return TrainConfig(**base)


def test_golden_loss_trajectory_of_the_tiny_model(tiny_llama_dir, tmp_path):
    from flanlab.training.train import train

    path = train(_cfg(tiny_llama_dir, tmp_path / "run"), mixture=_mixture())
    rows = [json.loads(ln) for ln in (path / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    if os.environ.get("FLANLAB_REGEN_GOLDEN"):
        print("GOLDEN_LOSSES =", [round(x, 6) for x in losses])
    assert len(losses) == len(GOLDEN_LOSSES)
    assert losses == pytest.approx(GOLDEN_LOSSES, abs=2e-5)
    assert losses[-1] < losses[0]  # the recipe learns


def test_full_fine_tuning_changes_every_trainable_parameter(tiny_llama_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    from flanlab.training.train import train

    before = {k: v.clone() for k, v in AutoModelForCausalLM.from_pretrained(tiny_llama_dir).state_dict().items()}
    path = train(_cfg(tiny_llama_dir, tmp_path / "run", steps=3, optim={"name": "adamw", "lr": 1e-2}),
                 mixture=_mixture())
    after = AutoModelForCausalLM.from_pretrained(path / "model").state_dict()
    assert set(after) == set(before)
    unchanged = [k for k, v in after.items() if torch.equal(v, before[k])]
    assert not unchanged, f"full fine-tuning left these weights untouched: {unchanged}"
