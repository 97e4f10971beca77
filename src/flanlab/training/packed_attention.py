"""Attention for packed rows that computes only the diagonal blocks: each packed example attends to itself.

    segs = Segments.from_segment_ids(batch_segment_ids)      # (B, T) ids, 0 = padding; once per batch
    use_segment_attention(model)                             # registers NAME and switches the model to it
    model(input_ids=..., position_ids=..., attention_mask=None, flanlab_segments=segs, use_cache=False)

Why: a packed row of T tokens holding examples of lengths L1..Lk needs sum(Li^2) attention scores, but a
(T x T) block-diagonal mask makes every kernel compute all T^2 and throw most away. On a 512-token row
with 4-8 examples that is 4-8x the necessary work, and on a small model attention over the whole row is
most of a training step (measured: 70% of CPU time on the tiny test model).

How: the examples of a batch are cut out of the rows (a gather), grouped into buckets of similar length,
right-padded inside each bucket and run through `scaled_dot_product_attention(is_causal=True)`; the
outputs are scattered back. Padding sits after each example's last token, so causality alone keeps it
invisible to real tokens, and no mask is built at all (the fused causal kernels apply). Gradients flow
through the gather and the scatter. Rows' padding tokens get a zero attention output; they carry no
loss and no real token attends to them.

Any transformers model that dispatches attention through `ALL_ATTENTION_FUNCTIONS` (every modern
decoder-only architecture) works; calls without `flanlab_segments` (unpacked batches, generation) fall
through to transformers' own sdpa path, so the model stays usable. `restore_attention` switches back
before the model is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .modeling import hf_model

NAME = "flanlab_segments"
BUCKET_RATIO = 1.5  # examples in one bucket differ in length by at most this factor (bounds padded work)


@dataclass
class Bucket:
    index: torch.Tensor  # (S, Lmax) flat token positions (row * T + column); padding repeats a valid one
    valid: torch.Tensor  # (S * Lmax,) bool: which bucket slots are real tokens


@dataclass
class Segments:
    """Where each packed example sits in a (B, T) batch, grouped into length buckets."""

    buckets: list[Bucket]
    dest: torch.Tensor  # flat positions of all real tokens, in bucket order (scatter target)

    @classmethod
    def from_segment_ids(cls, segment_ids, bucket_ratio: float = BUCKET_RATIO) -> "Segments":
        """(B, T) segment ids (0 = padding, k > 0 = k-th example of the row) -> Segments."""
        seg = torch.as_tensor(segment_ids).cpu()
        b, t = seg.shape
        spans = []  # (length, flat start)
        for r in range(b):
            row = seg[r]
            change = torch.nonzero(row[1:] != row[:-1]).flatten() + 1
            starts = torch.cat([torch.zeros(1, dtype=torch.long), change]).tolist()
            ends = change.tolist() + [t]
            spans += [(e - s, r * t + s) for s, e in zip(starts, ends) if int(row[s]) != 0]
        spans.sort(key=lambda x: -x[0])
        buckets, dest = [], []
        i = 0
        while i < len(spans):
            longest = spans[i][0]
            j = i
            while j < len(spans) and spans[j][0] * bucket_ratio >= longest:
                j += 1
            group = spans[i:j]
            lens = torch.tensor([n for n, _ in group])
            offs = torch.arange(longest)
            valid = offs[None, :] < lens[:, None]
            start = torch.tensor([s for _, s in group])
            index = start[:, None] + torch.where(valid, offs[None, :], torch.zeros_like(offs)[None, :])
            buckets.append(Bucket(index, valid.flatten()))
            dest.append(index.flatten()[valid.flatten()])
            i = j
        dest_t = torch.cat(dest) if dest else torch.zeros(0, dtype=torch.long)
        return cls(buckets, dest_t)

    def to(self, device) -> "Segments":
        return Segments([Bucket(k.index.to(device), k.valid.to(device)) for k in self.buckets],
                        self.dest.to(device))

    @property
    def scores(self) -> int:
        """Attention scores computed (padded buckets, causal half not subtracted): the work done."""
        return sum(k.index.shape[0] * k.index.shape[1] ** 2 for k in self.buckets)


def segment_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None,
                      flanlab_segments: Segments | None = None, **kwargs) -> tuple[torch.Tensor, None]:
    """transformers attention function: (B, H, T, D) q/k/v -> (B, T, H, D) output, per packed example."""
    if flanlab_segments is None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, **kwargs)
    _check_supported(flanlab_segments, kwargs)
    b, h, t, d = query.shape
    hk = key.shape[1]
    q = query.transpose(1, 2).reshape(b * t, h, d)
    k = key.transpose(1, 2).reshape(b * t, hk, d)
    v = value.transpose(1, 2).reshape(b * t, hk, value.shape[-1])
    outs = []
    for bucket in flanlab_segments.buckets:
        s, n = bucket.index.shape
        flat = bucket.index.flatten()
        qs = q.index_select(0, flat).view(s, n, h, d).transpose(1, 2)
        ks = k.index_select(0, flat).view(s, n, hk, d).transpose(1, 2)
        vs = v.index_select(0, flat).view(s, n, hk, -1).transpose(1, 2)
        if hk != h:
            ks = ks.repeat_interleave(h // hk, dim=1)
            vs = vs.repeat_interleave(h // hk, dim=1)
        o = torch.nn.functional.scaled_dot_product_attention(
            qs, ks, vs, is_causal=True, scale=scaling, dropout_p=dropout if module.training else 0.0)
        outs.append(o.transpose(1, 2).reshape(s * n, h, -1)[bucket.valid])
    out = query.new_zeros(b * t, h, value.shape[-1])
    if outs:
        out = out.index_copy(0, flanlab_segments.dest, torch.cat(outs))
    return out.view(b, t, h, -1), None


def _check_supported(segments: Segments, kwargs: dict) -> None:
    """Refuse what plain causal sdpa would silently get wrong (the mask path handles these models)."""
    from ..errors import FlanlabError

    if kwargs.get("softcap") is not None:
        raise FlanlabError("attention=segments cannot apply this model's attention logit soft-capping; "
                           "use attention=mask")
    window = kwargs.get("sliding_window")
    longest = max((b.index.shape[1] for b in segments.buckets), default=0)
    if window is not None and longest > window:
        raise FlanlabError(f"attention=segments: a packed example of {longest} tokens is longer than the model's "
                           f"{window}-token sliding window; use attention=mask")


def supports(config, seq_len: int) -> bool:
    """The model's attention is plain causal attention over rows of `seq_len` tokens (no soft-capping, no
    sliding window shorter than a row), so per-example causal sdpa computes exactly what it would."""
    if getattr(config, "attn_logit_softcapping", None):
        return False
    window = getattr(config, "sliding_window", None)
    if window and getattr(config, "use_sliding_window", True) and window < seq_len:
        return False
    return True


def register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, segment_attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)  # unpacked calls get the usual sdpa mask


def use_segment_attention(model, seq_len: int = 2048) -> bool:
    """Switch a transformers model (or a peft wrapper) to segment attention; False where it cannot."""
    hf = hf_model(model)
    if not hasattr(hf, "set_attn_implementation") or not supports(hf.config, seq_len):
        return False
    register()
    previous = getattr(hf.config, "_attn_implementation", None) or "sdpa"
    try:
        hf.set_attn_implementation(NAME)
    except (ValueError, ImportError, AttributeError, NotImplementedError):
        return False
    hf._flanlab_previous_attention = previous
    return True


def restore_attention(model: Any) -> None:
    """Back to the attention the model was loaded with (saved configs must not name NAME)."""
    hf = hf_model(model)
    previous = getattr(hf, "_flanlab_previous_attention", None)
    if previous is not None:
        hf.set_attn_implementation(previous)
        del hf._flanlab_previous_attention
