"""Test doubles: tiny models and tokenizers built in-process, and a fixed list as a mixture (no hub, no
downloads), for tests and benchmarks.

    tok = tiny_tokenizer()
    path = save_tiny_model(tmp_path / "llama", "llama")   # or "t5"; a normal transformers directory
    train(cfg, mixture=ListMixture([("1+1", "2"), ("2+2", "4")]))
"""

from __future__ import annotations

import itertools  # noqa: F401 - used by the doctest
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

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
