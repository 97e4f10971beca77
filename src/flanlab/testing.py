"""Test doubles: tiny models and tokenizers built in-process, a fixed list as a mixture, and a fake LM (no
hub, no downloads), for tests and benchmarks.

    tok = tiny_tokenizer()
    path = save_tiny_model(tmp_path / "llama", "llama")   # or "t5"; a normal transformers directory
    train(cfg, mixture=ListMixture([("1+1", "2"), ("2+2", "4")]))
    fake = FakeLM()        # deterministic scores from a hash: evaluation-runner tests without a model
"""

from __future__ import annotations

import hashlib
import itertools  # noqa: F401 - used by the doctest
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .evaluation.generation import Generation, GenRequest, cut_at_stop
from .evaluation.lm import Progress
from .evaluation.rank import OptionScore, RankRequest

_CORPUS = [
    "The quick brown fox jumps over the lazy dog. Does the premise mean that the hypothesis is true?",
    "OPTIONS:\n- yes\n- no\n- it is not possible to tell",
    "Premise: A man is playing a guitar. Hypothesis: A person makes music. Answer: yes",
    "Translate to French: Hello, how are you? Bonjour, comment allez-vous ?",
    "Summarize: the cat sat on the mat and looked at the birds in the garden all afternoon.",
    "Question: What is the capital of France? Answer: Paris. positive negative review movie film",
    "0123456789 ,.;:!?'\"()[]{}<>-_/\\ abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ",
]


@lru_cache(maxsize=2)
def tiny_tokenizer(vocab_size: int = 512):
    """A byte-level BPE tokenizer trained in-process on a few sentences (any text encodes)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_CORPUS * 20, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<pad>",
                                   bos_token="<|endoftext|>", unk_token=None)


def tiny_model(kind: str = "llama", seed: int = 0, vocab_size: int | None = None):
    """A randomly initialised model: 'llama' (decoder-only) or 't5' (encoder-decoder)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, LlamaConfig, T5Config

    tok = tiny_tokenizer()
    vocab = vocab_size or len(tok)
    torch.manual_seed(seed)
    if kind == "llama":
        cfg = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                          bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                          pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
        return AutoModelForCausalLM.from_config(cfg)
    if kind == "t5":
        cfg = T5Config(vocab_size=vocab, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
                       num_heads=4, decoder_start_token_id=tok.pad_token_id, pad_token_id=tok.pad_token_id,
                       eos_token_id=tok.eos_token_id, dropout_rate=0.0)
        return AutoModelForSeq2SeqLM.from_config(cfg)
    raise ValueError(f"unknown tiny model kind {kind!r}")


def save_tiny_model(path: str | Path, kind: str = "llama", seed: int = 0) -> Path:
    """Write a tiny model and its tokenizer as a normal transformers directory."""
    path = Path(path)
    model = tiny_model(kind, seed)
    model.save_pretrained(path, safe_serialization=True)
    tiny_tokenizer().save_pretrained(path)
    return path


@dataclass(frozen=True)
class TextExample:
    """What the data path reads from a mixture stream (a `MixExample` has the same attributes)."""

    inputs: str
    targets: str
    position: int
    task: str = "list"
    template_id: str = ""


class ListMixture:
    """A fixed list of (inputs, targets) pairs repeated forever, as a mixture: for tests and benchmarks.

    >>> [ex.targets for ex in itertools.islice(ListMixture([("1+1", "2"), ("2+2", "4")]).stream(1), 3)]
    ['4', '2', '4']
    """

    def __init__(self, pairs: list[tuple[str, str]], task: str = "list"):
        from .errors import FlanlabError

        if not pairs:
            raise FlanlabError("ListMixture needs at least one (inputs, targets) pair")
        self.pairs, self.task = list(pairs), task

    def stream(self, start: int = 0) -> Iterator[TextExample]:
        pos = start
        while True:
            x, y = self.pairs[pos % len(self.pairs)]
            yield TextExample(x, y, pos, self.task)
            pos += 1

    def rates(self) -> dict[str, float]:
        return {self.task: 1.0}


def _h(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x00".join(parts).encode()).digest()[:8], "big")


class FakeLM:
    """Deterministic stand-in for runner tests: scores and outputs are hashes of the text, never random.

    `answers` maps a substring of the prompt to the text `generate` returns (else the prompt's last word);
    `fail_on` makes any request whose prompt contains that substring raise (to test failed cells).
    `calls` counts requests served, so tests can prove a cached cell did not call the model.
    """

    def __init__(self, name: str = "fake", kind: str = "decoder", answers: dict[str, str] | None = None,
                 fail_on: str | None = None, never_stop: bool = False):
        self.name, self.kind, self.fingerprint = name, kind, f"fake:{name}"
        self.answers, self.fail_on, self.never_stop = answers or {}, fail_on, never_stop
        self.calls = 0
        self.eos_text = "</s>"

    def length(self, text: str) -> int:
        return len(text.split())

    def chat_prompt(self, text: str) -> str:
        return f"<|user|>{text}<|end|><|assistant|>"

    def _check(self, context: str) -> None:
        if self.fail_on and self.fail_on in context:
            raise RuntimeError(f"fake failure on a prompt containing {self.fail_on!r}")

    def loglikelihood(self, requests: Sequence[RankRequest], progress: Progress = None) -> list[list[OptionScore]]:
        out = []
        for r in requests:
            self._check(r.context)
            scores = []
            for c in r.continuations:
                n = max(1, len(c.split()))
                scores.append(OptionScore(-(_h(r.context, c) % 10_000) / 1000.0 - n, n, len(c)))
            out.append(scores)
            self.calls += 1
            if progress:
                progress(1)
        return out

    def generate(self, requests: Sequence[GenRequest], progress: Progress = None) -> list[Generation]:
        out = []
        for r in requests:
            self._check(r.context)
            text = next((v for k, v in self.answers.items() if k in r.context), None)
            if text is None:
                words = r.context.split()
                text = words[_h(r.context) % len(words)] if words else ""
            if self.never_stop:
                out.append(Generation(" ".join([text] * r.max_new_tokens), r.max_new_tokens, "length"))
            else:
                text, hit = cut_at_stop(text, r.stop)
                out.append(Generation(text.strip(), len(text.split()), "stop" if hit else "eos"))
            self.calls += 1
            if progress:
                progress(1)
        return out
