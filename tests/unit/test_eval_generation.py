"""Generation: greedy decoding on tiny models, batch independence, stop strings, never-stopping outputs."""

from __future__ import annotations

import pytest

from flanlab.errors import FlanlabError
from flanlab.evaluation.generation import DecodeOptions, GenRequest, cut_at_stop, generate

PROMPTS = ["Translate to French: Hello, how are you?", "Summarize: the cat sat on the mat and looked",
           "Question: What is the capital of France? Answer:", "OPTIONS:\n- yes\n- no"]


def _longest_first(tok, reqs: list[GenRequest]) -> tuple[list[list[int]], list[GenRequest]]:
    """The requests' prompt ids and the requests, longest prompt first (the order `greedy_decode` takes)."""
    from flanlab.evaluation.generation import _encode

    ids = [_encode(tok, "decoder", r, 2048) for r in reqs]
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    return [ids[i] for i in order], [reqs[i] for i in order]


@pytest.fixture(scope="module", params=[("decoder", "llama"), ("encoder-decoder", "t5")], ids=["llama", "t5"])
def tiny(request):
    from flanlab.testing import tiny_model

    kind, arch = request.param
    return kind, tiny_model(arch, seed=1).eval()


def test_greedy_does_not_depend_on_batch_size(tiny, tiny_tok):
    kind, model = tiny
    reqs = [GenRequest(p, max_new_tokens=6) for p in PROMPTS]
    one = generate(model, tiny_tok, kind, reqs, batch_size=1)
    many = generate(model, tiny_tok, kind, reqs, batch_size=4)
    assert [g.text for g in one] == [g.text for g in many]
    assert all(g.n_tokens <= 6 for g in one)


def test_a_random_model_never_stops_and_says_so(tiny, tiny_tok):
    kind, model = tiny
    (g,) = generate(model, tiny_tok, kind, [GenRequest(PROMPTS[0], max_new_tokens=5)])
    if g.stopped == "length":
        assert g.n_tokens == 5
    else:  # the random model happened to emit EOS
        assert g.stopped == "eos" and g.n_tokens < 5


def test_stop_strings_cut_the_text():
    assert cut_at_stop("Paris.\n\nQuestion: next", ["\n\n"]) == ("Paris.", True)
    assert cut_at_stop("a STOP b END c", ["END", "STOP"]) == ("a ", True)
    assert cut_at_stop("no stop here", ["\n"]) == ("no stop here", False)


def test_stop_string_ends_generation(tiny_tok):
    from flanlab.testing import tiny_model

    model = tiny_model("llama", seed=1).eval()
    (free,) = generate(model, tiny_tok, "decoder", [GenRequest(PROMPTS[2], max_new_tokens=12)])
    if len(free.text) < 3:
        pytest.skip("the random model produced too little text to pick a stop string from")
    stop = free.text[2:4]
    (cut,) = generate(model, tiny_tok, "decoder", [GenRequest(PROMPTS[2], max_new_tokens=12, stop=(stop,))])
    assert cut.stopped == "stop"
    assert stop not in cut.text and free.text.startswith(cut.text)


def test_beam_search_and_sampling_run(tiny_tok):
    from flanlab.testing import tiny_model

    model = tiny_model("llama", seed=1).eval()
    reqs = [GenRequest(p, max_new_tokens=4) for p in PROMPTS[:2]]
    beams = generate(model, tiny_tok, "decoder", reqs, options=DecodeOptions(num_beams=3))
    s1 = generate(model, tiny_tok, "decoder", reqs, options=DecodeOptions(do_sample=True, seed=7, temperature=0.8))
    s2 = generate(model, tiny_tok, "decoder", reqs, options=DecodeOptions(do_sample=True, seed=7, temperature=0.8))
    assert len(beams) == 2 and [g.text for g in s1] == [g.text for g in s2]  # seeded sampling repeats


def test_bad_max_new_tokens(tiny_tok):
    from flanlab.testing import tiny_model

    with pytest.raises(FlanlabError, match="max_new_tokens"):
        generate(tiny_model("llama"), tiny_tok, "decoder", [GenRequest("x", max_new_tokens=0, where="task t")])


class Force:
    """A logits processor that makes the model emit `ids` in order, then EOS (an answer shape on demand)."""

    def __init__(self, ids: list[int], eos: int):
        self.ids, self.eos, self.start = ids, eos, None

    def __call__(self, input_ids, scores):
        import torch

        self.start = input_ids.shape[1] if self.start is None else self.start
        i = input_ids.shape[1] - self.start
        out = torch.full_like(scores, float("-inf"))
        out[:, self.ids[i] if i < len(self.ids) else self.eos] = 0.0
        return out


@pytest.mark.parametrize("prompt", ["Question: the capital of France?\nAnswer:", "Q: the capital of France?\n"])
def test_section44_a_leading_newline_does_not_cut_the_generation_to_nothing(tiny_tok, prompt):
    """Section 4.4 / GPT-3-style baseline prompts stop at a newline: a model opening its answer with one (or a
    prompt ending in one) must not yield an empty answer; the stop string ends the answer after content."""
    from transformers import LogitsProcessorList

    from flanlab.testing import tiny_model

    model = tiny_model("llama", seed=1).eval()
    ids = tiny_tok.encode("\nParis\nQuestion", add_special_tokens=False)
    opts = DecodeOptions(extra={"logits_processor": LogitsProcessorList([Force(ids, tiny_tok.eos_token_id)])})
    (g,) = generate(model, tiny_tok, "decoder", [GenRequest(prompt, 12, ("\n",))], options=opts)
    assert g.text == "Paris" and g.stopped == "stop" and g.n_tokens <= 4
    assert cut_at_stop("\nParis\nQuestion", ["\n"]) == ("\nParis", True)
    assert cut_at_stop(" \n ", ["\n"]) == (" \n ", False)  # whitespace only: nothing to cut


def test_greedy_loop_gives_the_tokens_of_model_generate(tiny_tok):
    """flanlab's greedy loop (ended rows leave the batch, waiting prompts take their places, prefill in groups
    joined by padding) = transformers' generate on the same batch, cut where a stop string first appears in the generated text (lm-eval's
    rule; transformers' own stop-string check also looks across the prompt's end)."""
    import torch

    from flanlab.evaluation.generation import _generate_batch, greedy_decode, uses_greedy_loop
    from flanlab.testing import tiny_model

    model = tiny_model("llama", seed=1).eval()
    assert uses_greedy_loop(model, "decoder", DecodeOptions())
    prompts = PROMPTS + ["a b", "The quick brown fox jumps over the lazy dog. Does the premise mean that"]
    free = [GenRequest(p, max_new_tokens=2 + 4 * i) for i, p in enumerate(prompts)]
    ids, free = _longest_first(tiny_tok, free)
    with torch.inference_mode():
        reference = _generate_batch(model, tiny_tok, "decoder", ids, free, DecodeOptions())
        assert greedy_decode(model, tiny_tok, ids, free) == reference
        assert greedy_decode(model, tiny_tok, ids, free, prefill_tokens=40) == reference  # several prefill groups
        # 2 rows at a time: waiting prompts join the running batch as rows end
        assert greedy_decode(model, tiny_tok, ids, free, prefill_tokens=40, width=2) == reference
        # stop strings: the second half of each odd row's free text (it must end the row early)
        stops = [(g.text[len(g.text) // 2:][:3],) if k % 2 and len(g.text) > 3 else () for k, g in enumerate(reference)]
        reqs = [GenRequest(r.context, r.max_new_tokens, s) for r, s in zip(free, stops)]
        cut = greedy_decode(model, tiny_tok, ids, reqs, prefill_tokens=40)
    assert len({g.n_tokens for g in reference}) > 2  # rows end at different steps: rows did leave the batch
    assert any(stops)
    for g, ref, s in zip(cut, reference, stops):
        if not s:
            assert g == ref
        else:
            assert g.stopped == "stop" and s[0] not in g.text and ref.text.startswith(g.text)
            assert g.n_tokens < ref.n_tokens


@pytest.mark.parametrize("spare", [1, 3, 128])
def test_greedy_loop_cache_slots_match_model_generate_when_reallocating(tiny_tok, monkeypatch, spare):
    """The running batch's cache (`_SlotLayer`: steps write in place, rows leave and join inside preallocated
    buffers) gives model.generate's tokens whether its buffers run out of columns every other step (spare=1),
    every few steps, or never; and with room to spare a step allocates nothing."""
    import torch

    from flanlab.evaluation import generation as G
    from flanlab.testing import tiny_model

    monkeypatch.setattr(G, "SPARE_COLUMNS", spare)
    reallocs = []
    real = G._SlotLayer._realloc
    monkeypatch.setattr(G._SlotLayer, "_realloc", lambda self, *a: (reallocs.append(a[1]), real(self, *a))[1])
    model = tiny_model("llama", seed=1).eval()
    prompts = PROMPTS + ["a b", "The quick brown fox jumps over the lazy dog. Does the premise mean that", "Hi"]
    free = [GenRequest(p, max_new_tokens=3 + 5 * (i % 4)) for i, p in enumerate(prompts)]
    ids, free = _longest_first(tiny_tok, free)
    with torch.inference_mode():
        reference = G._generate_batch(model, tiny_tok, "decoder", ids, free, DecodeOptions())
        for width in (2, 3, len(ids)):
            reallocs.clear()
            assert G.greedy_decode(model, tiny_tok, ids, free, prefill_tokens=30, width=width) == reference
            layers = model.config.num_hidden_layers
            if spare == 1:  # one spare column: the buffers are laid out again every other step
                assert len(reallocs) >= layers * (max(r.max_new_tokens for r in free) // 2 - 1)
            if spare == 128 and width == len(ids):  # one batch, one prefill group layout: allocated once
                assert len(reallocs) == layers


def test_slot_layer_keeps_rows_right_aligned_through_steps_leaves_and_joins():
    """`_SlotLayer`'s view = the left-padded concatenation a `DynamicLayer` would hold, on every unmasked column."""
    import torch

    from flanlab.evaluation.generation import _slot_layer

    torch.manual_seed(0)
    heads, dim = 2, 3
    layer = _slot_layer(4)
    rows: list[list[torch.Tensor]] = []  # per row: its key columns (values are keys + 100)

    def add(lengths: list[int]) -> None:
        w = max(lengths)
        k = torch.zeros(len(lengths), heads, w, dim)
        for i, n in enumerate(lengths):
            cols = [torch.randn(heads, dim) for _ in range(n)]
            rows.append(cols)
            if n:
                k[i, :, w - n:] = torch.stack(cols, 1)
        layer.add(k, k + 100)

    def check() -> None:
        assert layer.keys.shape[:2] == layer.values.shape[:2] == (len(rows), heads)
        width = layer.keys.shape[2]
        for i, cols in enumerate(rows):  # the columns left of a row's own are masked: whatever they hold
            assert len(cols) <= width
            assert torch.equal(layer.keys[i, :, width - len(cols):], torch.stack(cols, 1))
            assert torch.equal(layer.values[i, :, width - len(cols):], torch.stack(cols, 1) + 100)

    add([5, 3])
    check()
    for _ in range(3):  # decoding steps
        new = torch.randn(len(rows), heads, 1, dim)
        out_k, out_v = layer.update(new, new + 100)
        for i in range(len(rows)):
            rows[i].append(new[i, :, 0])
        assert out_k is layer.keys and torch.equal(out_v, out_k + 100)
        check()
    layer.keep([1], drop=2)  # row 0 leaves; row 1 (3 + 3 columns of 8) no longer needs the first 2
    rows = [rows[1]]
    check()
    assert layer.keys.shape[2] == 6
    add([7, 2, 1])  # join: 7 columns fit left of `end` (8); row 0 keeps its place
    check()
    assert layer.get_seq_length() == layer.keys.shape[2] == 7
    layer.keep([0, 2, 3], drop=0)
    rows = [rows[0], rows[2], rows[3]]
    check()
    add([12])  # longer than every column held: the buffers are laid out again
    check()
    assert layer.keys.shape[2] == 12


def test_greedy_loop_on_sliding_window_layers_decodes_chunk_by_chunk(tiny_tok):
    """A model whose cache layers are not plain `DynamicLayer`s (a sliding window) is decoded `width` rows at a
    time with its own cache (rows only leave): still the tokens of model.generate."""
    import torch
    from transformers import AutoModelForCausalLM, DynamicCache, MistralConfig
    from transformers.cache_utils import DynamicLayer

    from flanlab.evaluation.generation import _generate_batch, greedy_decode

    torch.manual_seed(3)
    cfg = MistralConfig(vocab_size=len(tiny_tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, sliding_window=6,
                        bos_token_id=tiny_tok.bos_token_id, eos_token_id=tiny_tok.eos_token_id,
                        pad_token_id=tiny_tok.pad_token_id)
    model = AutoModelForCausalLM.from_config(cfg).eval()
    assert any(type(layer) is not DynamicLayer for layer in DynamicCache(config=model.config).layers)
    free = [GenRequest(p, max_new_tokens=4 + 3 * i) for i, p in enumerate(PROMPTS)]
    ids, free = _longest_first(tiny_tok, free)
    with torch.inference_mode():
        for width in (2, len(ids)):
            ref = [g for s in range(0, len(ids), width)
                   for g in _generate_batch(model, tiny_tok, "decoder", ids[s:s + width], free[s:s + width],
                                            DecodeOptions())]
            assert greedy_decode(model, tiny_tok, ids, free, width=width) == ref


def test_prefill_groups_cap_padded_tokens():
    from flanlab.evaluation.generation import _prefill_groups

    lengths = [50, 40, 30, 30, 5, 4]
    groups = _prefill_groups(lengths, 100)
    assert [i for g in groups for i in g] == list(range(6))
    assert all(len(g) == 1 or len(g) * lengths[g[0]] <= 100 for g in groups)
    assert _prefill_groups(lengths, None) == [list(range(6))]
    assert _prefill_groups([300, 200], 100) == [[0], [1]]  # a row longer than the cap is its own group
