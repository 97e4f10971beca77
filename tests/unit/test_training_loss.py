"""The loss comes from the upstream labels only, and the fast targets-only head gives the same loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from flanlab.mixtures.features import tokenize
from flanlab.mixtures.packing import pack, single_row
from flanlab.training.data import collate
from flanlab.training.modeling import LossModule, supports_targets_only

PAIRS = [("Premise: A man is playing a guitar. Answer:", "yes"), ("What is the capital of France?", "Paris"),
         ("Summarize: the cat sat on the mat.", "the cat sat"), ("Translate to French: Hello", "Bonjour")]


def _packed_batch(tok, kind="decoder"):
    feats = tokenize(PAIRS, tok, kind=kind)
    if kind == "decoder":
        return collate(list(pack(feats, 64, pad_id=tok.pad_token_id)), kind)
    return collate([single_row(f) for f in feats], kind, pad_id=tok.pad_token_id)


def _manual_loss(model, batch):
    """Reference: the model's own logits, cross-entropy over label positions only (labels shifted)."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   position_ids=batch["position_ids"], use_cache=False).logits
    lab = batch["labels"][:, 1:]
    keep = lab != -100
    return F.cross_entropy(logits[:, :-1][keep], lab[keep], reduction="sum"), int(keep.sum())


@pytest.mark.parametrize("targets_only", [False, True])
def test_loss_is_summed_over_target_tokens_only(tiny_tok, targets_only):
    from flanlab.testing import tiny_model

    model = tiny_model("llama")
    batch = _packed_batch(tiny_tok)
    loss, n = LossModule(model, "decoder", targets_only=targets_only)(**batch)
    ref, n_ref = _manual_loss(model, batch)
    # targets: each answer's tokens and its final EOS; nothing of the prompts
    n_expected = sum(len(tiny_tok(y, add_special_tokens=False)["input_ids"]) + 1 for _, y in PAIRS)
    assert int(n) == n_ref == n_expected
    assert float(loss.detach()) == pytest.approx(float(ref.detach()), rel=1e-5)


def test_only_target_positions_receive_gradient(tiny_tok):
    """The gradient reaching the logits is zero at every position whose next token is not a target."""
    from flanlab.testing import tiny_model

    model = tiny_model("llama")
    captured = {}
    model.lm_head.register_full_backward_hook(lambda m, gin, gout: captured.update(g=gout[0]))
    batch = _packed_batch(tiny_tok)
    LossModule(model, "decoder", targets_only=False)(**batch)[0].backward()
    per_pos = captured["g"].abs().sum(-1)[:, :-1]  # position t predicts label t+1
    is_target = batch["labels"][:, 1:] != -100
    assert (per_pos[~is_target] == 0).all()
    assert (per_pos[is_target] > 0).all()
    assert (~is_target).sum() > is_target.sum()  # the prompts are most of the row


def test_packed_rows_give_the_same_loss_as_unpacked(tiny_tok):
    from flanlab.testing import tiny_model

    model = tiny_model("llama")
    module = LossModule(model, "decoder", targets_only=True)
    packed = _packed_batch(tiny_tok)
    feats = tokenize(PAIRS, tiny_tok, kind="decoder")
    unpacked = collate([single_row(f) for f in feats], "decoder", pad_id=tiny_tok.pad_token_id)
    a, na = module(**packed)
    b, nb = module(**unpacked)
    assert int(na) == int(nb)
    assert float(a) == pytest.approx(float(b), rel=1e-4)


def test_encoder_decoder_loss_matches_the_model_mean(tiny_tok):
    from flanlab.testing import tiny_model

    model = tiny_model("t5")
    batch = _packed_batch(tiny_tok, "encoder-decoder")
    loss, n = LossModule(model, "encoder-decoder")(**batch)
    ref = model(**batch).loss  # transformers' mean over labels != -100
    assert float(loss) / int(n) == pytest.approx(float(ref), rel=1e-5)
    assert not supports_targets_only(model, "encoder-decoder")


def test_targets_only_gradients_match_full_head(tiny_tok):
    from flanlab.testing import tiny_model

    batch = _packed_batch(tiny_tok)
    grads = []
    for targets_only in (False, True):
        model = tiny_model("llama")
        LossModule(model, "decoder", targets_only=targets_only)(**batch)[0].backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert torch.allclose(grads[0], grads[1], atol=1e-5)


def test_gradient_checkpointing_gives_the_same_gradients(tiny_tok):
    from flanlab.testing import tiny_model
    from flanlab.training.config import TuningConfig
    from flanlab.training.modeling import apply_tuning

    batch = _packed_batch(tiny_tok)
    grads = []
    for ckpt in (False, True):
        model = apply_tuning(tiny_model("llama"), "decoder", TuningConfig(gradient_checkpointing=ckpt))
        model.train()
        assert getattr(model, "is_activation_checkpointing", None) is ckpt
        LossModule(model, "decoder", targets_only=True)(**batch)[0].backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert torch.allclose(grads[0], grads[1], atol=1e-6)
