"""Rank classification against a brute-force reference (one full forward per option), on tiny models."""

from __future__ import annotations

import pytest
import torch

from flanlab.errors import FlanlabError
from flanlab.evaluation.rank import RankRequest, batches, encode_pair, encode_requests, score

CONTEXTS = ["Premise: A man is playing a guitar. Hypothesis: A person makes music.\nOPTIONS:\n- yes\n- no",
            "The quick brown fox jumps over the lazy dog. Does the premise mean that the hypothesis is true?",
            "Question: What is the capital of France? Answer: ",
            "Summarize: the cat sat on the mat",
            "0123456789"]
OPTIONS = ("\nyes", "\nno", " it is not possible to tell", " Paris. positive review")


def _requests(n: int = 12) -> list[RankRequest]:
    return [RankRequest(CONTEXTS[i % len(CONTEXTS)] * (1 + i % 3), OPTIONS[: 2 + i % 3]) for i in range(n)]


def brute_force(model, tok, kind: str, context: str, continuation: str, eos: bool = False) -> tuple[float, int]:
    """Separate full forward of prompt + option (+ EOS), log-softmax over every position, sum the option's tokens."""
    ctx, opt = encode_pair(tok, context, continuation, kind)
    opt = opt + [tok.eos_token_id] if eos else opt
    with torch.no_grad():
        if kind == "decoder":
            logp = model(input_ids=torch.tensor([ctx + opt])).logits[0].log_softmax(-1)
            return sum(logp[len(ctx) - 1 + j, t].item() for j, t in enumerate(opt)), len(opt)
        dec = torch.tensor([[model.config.decoder_start_token_id] + opt[:-1]])
        logp = model(input_ids=torch.tensor([ctx]), decoder_input_ids=dec).logits[0].log_softmax(-1)
        return sum(logp[j, t].item() for j, t in enumerate(opt)), len(opt)


@pytest.fixture(scope="module", params=[("decoder", "llama"), ("encoder-decoder", "t5")], ids=["llama", "t5"])
def tiny(request):
    from flanlab.testing import tiny_model

    kind, arch = request.param
    return kind, tiny_model(arch).eval()


def test_rank_matches_brute_force(tiny, tiny_tok):
    kind, model = tiny
    reqs = _requests()
    got = score(model, tiny_tok, kind, reqs, batch_size=16)
    for req, scores in zip(reqs, got):
        assert len(scores) == len(req.continuations)
        for cont, s in zip(req.continuations, scores):
            ref, n = brute_force(model, tiny_tok, kind, req.context, cont)
            assert s.n_tokens == n
            assert s.logprob == pytest.approx(ref, abs=1e-4)
            assert s.n_chars == len(cont)
            assert s.per_token == pytest.approx(s.logprob / n)


def test_batch_size_does_not_change_scores(tiny, tiny_tok):
    kind, model = tiny
    reqs = _requests(20)
    one = score(model, tiny_tok, kind, reqs, batch_size=1)
    many = score(model, tiny_tok, kind, reqs, batch_size=16)
    for a, b in zip(one, many):
        assert [x.n_tokens for x in a] == [x.n_tokens for x in b]
        assert [x.logprob for x in a] == pytest.approx([x.logprob for x in b], abs=1e-5)


def test_eager_attention_matches_sdpa(tiny_tok):
    """The packed 4D mask is additive for eager attention and boolean for sdpa: both give the same scores."""
    from flanlab.testing import tiny_model

    model = tiny_model("llama").eval()
    reqs = _requests(6)
    sdpa = score(model, tiny_tok, "decoder", reqs, batch_size=4)
    model.config._attn_implementation = "eager"
    eager = score(model, tiny_tok, "decoder", reqs, batch_size=4)
    for a, b in zip(sdpa, eager):
        assert [x.logprob for x in a] == pytest.approx([x.logprob for x in b], abs=1e-4)


SHARED = ("Goal: keep a pet guinea pig. Solution:",
          (" Provide the guinea pig with a cage full of paper strips.",
           " Provide the guinea pig with a cage full of jeans material.",
           " Provide the guinea pig with a cage",  # a strict prefix of the two above
           " Provide the guinea pig with a cage full of paper strips.",  # a duplicate
           " Let the dog out."))


def _shared_request(repeat: int = 1) -> RankRequest:
    return RankRequest(SHARED[0] * repeat, SHARED[1])


def _brute_greedy(model, tok, context: str, continuation: str) -> bool:
    """Whether every option token is the argmax of a separate full forward of prompt + option."""
    ctx, opt = encode_pair(tok, context, continuation)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ctx + opt])).logits[0]
    return all(logits[len(ctx) - 1 + j].argmax().item() == t for j, t in enumerate(opt))


def test_options_sharing_leading_tokens_match_brute_force(tiny_tok):
    """Shared prefixes, a strict-prefix option and a duplicate each get their own brute-force score."""
    from flanlab.testing import tiny_model

    model = tiny_model("llama").eval()
    enc = encode_requests(tiny_tok, "decoder", [_shared_request()], 2048)[0]
    assert enc.options[2] == enc.options[0][:len(enc.options[2])] and enc.options[3] == enc.options[0]
    reqs = [_shared_request(1 + i % 3) for i in range(5)] + _requests(4)  # shared and unshared rows in one batch
    for impl in ("sdpa", "eager"):
        model.config._attn_implementation = impl
        got = score(model, tiny_tok, "decoder", reqs, batch_size=16)
        for req, scores in zip(reqs, got):
            for cont, s in zip(req.continuations, scores):
                ref, n = brute_force(model, tiny_tok, "decoder", req.context, cont)
                assert (s.n_tokens, s.n_chars) == (n, len(cont))
                assert s.logprob == pytest.approx(ref, abs=1e-5), (impl, cont)
                assert s.greedy == _brute_greedy(model, tiny_tok, req.context, cont)
        first = got[0]
        assert first[3] == first[0]  # the duplicate is scored, and identically
        assert first[2].logprob > first[0].logprob  # the prefix option lacks the extra (negative) terms


def test_shared_prefixes_shrink_the_layout(tiny_tok):
    """The forward actually sees one column per trie node, and the LM head fewer still (no leaves)."""
    from flanlab.testing import tiny_model

    model = tiny_model("llama").eval()
    seen = []
    model.register_forward_hook(lambda m, args, kwargs, out: seen.append(
        (kwargs["input_ids"].shape[1], out.logits.shape[1])), with_kwargs=True)
    req = _shared_request()
    score(model, tiny_tok, "decoder", [req], batch_size=1)
    enc = encode_requests(tiny_tok, "decoder", [req], 2048)[0]
    unshared = len(enc.context) + sum(len(o) for o in enc.options)
    # one body column per distinct non-empty option prefix; one head column per distinct proper prefix
    # (the empty one is the prompt's last column): counted here without the trie
    nodes = {tuple(o[:j]) for o in enc.options for j in range(1, len(o) + 1)}
    predictors = {tuple(o[:j]) for o in enc.options for j in range(len(o))}
    (width, head_cols), = seen
    assert width == enc.length == len(enc.context) + len(nodes)
    assert width < unshared - len(enc.options[3])  # more saved than the duplicate alone
    assert head_cols == len(predictors) < sum(len(o) for o in enc.options)


def test_whitespace_rule_moves_trailing_space_to_the_option(tiny_tok):
    ctx, opt = encode_pair(tiny_tok, "Answer: ", "yes")
    ctx2, opt2 = encode_pair(tiny_tok, "Answer:", " yes")
    assert (ctx, opt) == (ctx2, opt2)
    assert tiny_tok.decode(opt) == " yes"
    # the option is tokenized in context: the joint encoding's tail, not a re-tokenized fragment
    whole = tiny_tok.encode("Answer: yes")
    assert ctx + opt == whole


def test_empty_context_conditions_on_bos(tiny_tok):
    ctx, opt = encode_pair(tiny_tok, "", "yes")
    assert ctx == [tiny_tok.bos_token_id] and opt == tiny_tok.encode("yes")


def test_option_that_tokenizes_to_nothing_is_an_error(tiny_tok):
    with pytest.raises(FlanlabError, match="option '' tokenizes to nothing"):
        encode_requests(tiny_tok, "decoder", [RankRequest("Is it?", ("yes", ""), "task t, example 3")], 2048)
    with pytest.raises(FlanlabError, match="task t, example 3"):
        encode_requests(tiny_tok, "decoder", [RankRequest("Is it?", ("yes", ""), "task t, example 3")], 2048)


def test_long_prompts_are_cut_from_the_left(tiny_tok):
    enc = encode_requests(tiny_tok, "decoder", [RankRequest("word " * 100 + "end?", (" yes",))], 32)[0]
    assert len(enc.context) + len(enc.options[0]) == 32
    assert tiny_tok.decode(enc.context).endswith("end?")


def test_batches_are_sorted_longest_first_and_capped():
    from flanlab.evaluation.rank import Encoded

    items = [Encoded(i, [1] * n, [[2]]) for i, n in enumerate([3, 9, 5, 7, 1])]
    got = batches(items, batch_size=2)
    assert [[e.index for e in b] for b in got] == [[1, 3], [2, 0], [4]]
    capped = batches(items, batch_size=8, max_tokens=20)
    assert all(b[0].length * len(b) <= 20 or len(b) == 1 for b in capped)


@pytest.mark.slow
def test_boundary_rule_with_the_real_tokenizer():
    """SmolLM2's tokenizer: the option is one word-initial token after "Answer: ", and the EOS join keeps
    the EOS in the prompt with the option's own first token after it."""
    from transformers import AutoTokenizer

    from flanlab.models import DEFAULT_MODEL, resolve_path

    tok = AutoTokenizer.from_pretrained(resolve_path(DEFAULT_MODEL).path)
    ctx, opt = encode_pair(tok, "Question: Is it? Answer: ", "yes")
    assert tok.decode(opt) == " yes" and len(opt) == 1 and ctx + opt == tok.encode("Question: Is it? Answer: yes")
    ctx, opt = encode_pair(tok, "OPTIONS:\n- yes\n- no" + tok.eos_token, "yes")
    assert ctx[-1] == tok.eos_token_id and tok.decode(opt) == "yes"
    ctx, opt = encode_pair(tok, "Goal: open a jar" + tok.eos_token, "Twist the lid counter-clockwise.")
    assert tok.decode(opt) == "Twist the lid counter-clockwise."


def test_section_2_3_rank_classification_scores_each_option_followed_by_eos(tiny, tiny_tok):
    """Paper section 2.3 (rank classification) with FLAN's targets, which end with EOS (section 3.1: "a special
    EOS token"): an option is scored as a whole answer, `option EOS`, so an option that is a prefix of another
    loses its free advantage. Rank = brute force with the EOS token, on both model kinds and shared tries."""
    from dataclasses import replace

    kind, model = tiny
    reqs = _requests(8) + ([_shared_request(1), _shared_request(2)] if kind == "decoder" else [])
    plain = score(model, tiny_tok, kind, reqs, batch_size=16)
    with_eos = score(model, tiny_tok, kind, [replace(r, eos=True) for r in reqs], batch_size=16)
    for req, p, e in zip(reqs, plain, with_eos):
        for cont, sp, se in zip(req.continuations, p, e):
            ref, n = brute_force(model, tiny_tok, kind, req.context, cont, eos=True)
            assert (se.n_tokens, se.n_chars) == (n, len(cont)) and n == sp.n_tokens + 1
            assert se.logprob == pytest.approx(ref, abs=1e-4)
            assert se.logprob < sp.logprob  # the EOS term is scored: log p(EOS | prompt, option) < 0
    if kind == "decoder":  # the strict-prefix option of the shared request is no longer a prefix in the trie
        enc = encode_requests(tiny_tok, kind, [replace(_shared_request(), eos=True)], 2048)[0]
        assert all(o[-1] == tiny_tok.eos_token_id for o in enc.options)
        assert enc.options[2] != enc.options[0][:len(enc.options[2])]


def test_rank_eos_needs_an_eos_token(tiny_tok):
    class NoEos:
        eos_token_id = None

        def __getattr__(self, name):
            return getattr(tiny_tok, name)

    with pytest.raises(FlanlabError, match="no EOS token.*rank_eos=false"):
        encode_requests(NoEos(), "decoder", [RankRequest("Q: ", (" a",), "task t, example 1", eos=True)], 2048)
