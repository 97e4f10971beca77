"""Benchmark: flanlab's rank-classification scoring next to lm-evaluation-harness, same model, data, prompts.

    pip install lm-eval                                   # benchmark-only dependency
    python benchmarks/bench_eval.py                       # SmolLM2-135M + a tiny model, RTE and PIQA, --limit 32
    python benchmarks/bench_eval.py --limit 277 --tasks rte   # the whole RTE validation split (~3 min per side)
    python benchmarks/bench_eval.py --models tiny --tasks piqa --limit 8   # correctness smoke run (seconds)

Prints ONE JSON line. For each (model, task): the catalogue task's template 01 is exported with
`flanlab eval export-lm-eval`'s code (the exact prompts flanlab scores, EOS join, target_delimiter ""), then
scored in the same process by
- `lm_eval`: `lm_eval.simple_evaluate` with its `HFLM` wrapping the very same model object (batch
  `--lm-eval-batch-size`, 16 by default as flanlab's; its default `logits_cache`, bootstrap off), timed end to end;
- `flanlab`: one evaluation cell (`evaluation.cell.run_cell`: load, render, score, metrics), timed end to end.
Reported: examples/s of each (wall clock), `ratio` (flanlab / lm-eval), the same from process CPU time
(`*_cpu_s_per_ex`, `ratio_cpu`: less sensitive to other jobs on a shared machine), whether every prediction is identical, the
largest per-option log-likelihood difference, and for the first `--fp64` prompts each side's largest error
against a float64 forward of the same model (which of two fp32 numbers is closer to the exact value). The order of the two alternates between repeats (`--repeats`)
and the best time of each is kept (this machine is shared: timings are noisy). Defaults: ~2 min on 2 quiet CPU
cores (~7 min when the machine is busy).

What bounds the speed-up (decoder-only models; counted from the tokens of the scored prompts, padding
excluded on both sides, attention's quadratic term ignored):
- `work_ratio`: model FLOPs of lm-eval's computation / ours. Body FLOPs per token = 2 x non-embedding
  parameters, head FLOPs per token = 2 x vocab x hidden (both read off the model object). lm-eval (0.4.x
  `HFLM._loglikelihood_tokens`) runs one forward per (context, continuation) over context + continuation
  minus its last token, with the LM head on every position; its `Collator(group_by="contexts")` groups
  requests whose context + continuation[:-1] are identical into one forward (one-token continuations of
  the same context, and more generally continuations differing only in their last token). Ours: the body
  over prompt + trie nodes once per prompt, the head on the prompt's last column + the trie's internal
  nodes. The token counts are in `lm_eval_body_tokens`, `lm_eval_head_tokens`, `flanlab_body_tokens`,
  `flanlab_head_tokens`.
- `efficiency_ratio` = ratio / work_ratio: ours vs lm-eval per FLOP (above 1: ours also runs faster per FLOP;
  below 1: the saved work is partly spent on masks, padding and per-batch overhead).
- `lm_eval_self_diff` (`--lm-eval-self-check`, on by default): the largest per-option log-likelihood
  difference of lm-eval at batch size 1 against lm-eval at its batch size (a second, untimed run): how
  much lm-eval's own fp32 numbers move with its batching, the scale to read `max_loglik_diff` against
  (flanlab's scores do not depend on the batch size: tested).
- `max_loglik_diff_lm_eval_exact_softmax` (`--lm-eval-exact-softmax`, on by default): flanlab against a
  second, untimed lm-eval run whose vocabulary normalisation is `x - logsumexp(x)` instead of torch's fp32
  `log_softmax` (whose summation error is ~1e-5 per token on a 49k vocabulary): separates the two tools'
  difference from that one reduction.
Data: the local Hub mirror (`--data-dir`, default /work/shared/data/hf); fp32 on CPU.

Generation (`--gen-tasks`, default `triviaqa:baseline,wmt16_de_en:baseline,wmt16_de_en:natural`, xsum:natural
also works; `--gen-tasks ""` skips it): greedy decoding of the same prompts on both sides. `wmt16_de_en:baseline`
is how lm-eval's own `wmt16-de-en` task asks (a GPT-3-style "German: ... English:" prompt, `until` a newline);
`:natural` is flanlab's template 01 with no stop string, where an untuned model often runs to the token budget. The requests are the ones a flanlab cell makes (template 01 or
the GPT-3-style baseline prompt, its answer join, the cell's token budget `1.25 x longest reference + 8`,
its stop strings: a newline in baseline mode, none otherwise); lm-eval gets each as a `generate_until`
request (`until` = the same stop strings, `max_gen_toks` = the same budget, `do_sample` false) through
`HFLM.generate_until` on the same model object; flanlab runs `HFLM.generate` (its greedy loop:
length-sorted batches, KV cache, ended rows leave the batch). Timed: the decoding call only, on both
sides. Reported per (model, task): examples/s of each, `ratio`, `ratio_cpu`, `identical_outputs` (texts
equal after stripping surrounding whitespace, lm-eval's `generate_until` leaves it and flanlab strips it),
the tokens both produced, and the work each did: `*_prefill_tokens` (prompt tokens with padding, over
the batches each tool forms) and `*_decode_row_steps` (one per batch row per decoding step: lm-eval's
batch runs until its longest row ends, flanlab's rows leave when they end; `generated_tokens` is the
useful part). Where outputs differ, `differences` lists up to 8 pairs and `differences_from_stop_rule`
counts those where lm-eval returned nothing because the first generated text was a stop string (flanlab's
STOP_RULE looks past leading whitespace). Compare at the same batch size (`--lm-eval-batch-size` =
`--flanlab-gen-batch-size`): on a CPU one decoding step costs about the same for 16 or 32 rows (SmolLM2-135M:
93 vs 131 ms), so a wider batch alone looks like a speed-up. The ratio grows with `--gen-limit`: each
lm-eval batch of 16 runs until its longest row ends (the more examples, the likelier a batch holds one that
runs to the budget), while flanlab's rows stream through one batch with a single tail at the end of the run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hf"


def run_lm_eval(model, tok, task_dir: Path, name: str, batch_size: int) -> tuple[float, dict[str, list[float]]]:
    import lm_eval
    from lm_eval.models.huggingface import HFLM as LmEvalHFLM
    from lm_eval.tasks import TaskManager

    t0, c0 = time.perf_counter(), time.process_time()
    lm = LmEvalHFLM(pretrained=model, tokenizer=tok, batch_size=batch_size)
    tm = TaskManager(include_path=str(task_dir), include_defaults=False, verbosity="ERROR")
    res = lm_eval.simple_evaluate(model=lm, tasks=[name], task_manager=tm, log_samples=True, bootstrap_iters=0,
                                  verbosity="ERROR")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return (wall, cpu), {s["doc"]["prompt"]: [r[0][0] for r in s["resps"]] for s in res["samples"][name]}


def run_flanlab(lm, cat, task, args) -> tuple[float, dict[str, list[float]]]:
    from flanlab.evaluation.cell import Cell, run_cell
    from flanlab.evaluation.config import EvalConfig

    cfg = EvalConfig(tasks=[task.name], limit=args.limit, source="mirror", data_dir=str(args.data_dir),
                     batch_size=args.flanlab_batch_size, cache=False)
    t0, c0 = time.perf_counter(), time.process_time()
    _, records = run_cell(Cell(task, "01", "test", 0, "natural"), cfg, cat, lm)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    run_flanlab.options = {r["prompt"]: r["options"] for r in records}
    run_flanlab.continuations = {r["prompt"]: r["continuations"] for r in records}
    return (wall, cpu), {r["prompt"]: r["loglik"] for r in records}


def compare(ours: dict[str, list[float]], theirs: dict[str, list[float]]) -> dict:
    if set(ours) != set(theirs):
        return {"same_prompts": False, "only_ours": len(set(ours) - set(theirs)), "only_lm_eval": len(set(theirs) - set(ours))}
    argmax = lambda v: max(range(len(v)), key=v.__getitem__)  # noqa: E731
    diffs = [abs(a - b) for p in ours for a, b in zip(ours[p], theirs[p])]
    return {"same_prompts": True, "identical_predictions": all(argmax(ours[p]) == argmax(theirs[p]) for p in ours),
            "max_loglik_diff": max(diffs), "options_compared": len(diffs)}


def fp64_errors(model, tok, scores: dict[str, dict[str, list[float]]], n: int, delimiter: str = "") -> dict:
    """Largest |score - float64 truth| of each side on the first n prompts (one full fp64 forward per option)."""
    import copy

    import torch

    from flanlab.evaluation.rank import encode_pair

    m64 = copy.deepcopy(model).double().eval()
    worst = {who: 0.0 for who in scores}
    for prompt, opts in list(scores["flanlab"].items())[:n]:
        for j, opt in enumerate(scores["flanlab_options"][prompt]):
            ctx, cont = encode_pair(tok, prompt, delimiter + opt)
            cont = cont + [tok.eos_token_id]  # options are scored followed by EOS (rank_eos, the default)
            with torch.no_grad():
                logp = m64(input_ids=torch.tensor([ctx + cont])).logits[0].log_softmax(-1)
            truth = sum(logp[len(ctx) - 1 + i, t].item() for i, t in enumerate(cont))
            for who in ("flanlab", "lm_eval"):
                worst[who] = max(worst[who], abs(scores[who][prompt][j] - truth))
    return {"fp64_prompts": n, "flanlab_max_err_vs_fp64": worst["flanlab"], "lm_eval_max_err_vs_fp64": worst["lm_eval"]}


def flops_per_token(model) -> tuple[int, int]:
    """(body, head) FLOPs per token: 2 x non-embedding parameters, 2 x vocab x hidden."""
    emb = model.get_input_embeddings().weight
    head = model.get_output_embeddings().weight
    total = sum(p.numel() for p in model.parameters())  # a tied head is one parameter: counted once
    body = total - emb.numel() - (0 if head is emb else head.numel())
    return 2 * body, 2 * head.shape[0] * head.shape[1]


def work_tokens(tok, continuations: dict[str, list[str]], max_length: int) -> dict[str, int]:
    """Body and head token counts of lm-eval's computation and of ours, for the same prompts.

    lm-eval: one forward per group of requests with equal context + continuation[:-1] (its Collator,
    group_by="contexts"), over that many tokens, the head on every one. Ours: prompt + trie nodes through the
    body, the head on the prompt's last column and the internal trie nodes.
    """
    from flanlab.evaluation.rank import RankRequest, encode_pair, encode_requests

    groups: set[tuple[int, ...]] = set()
    ours = {"flanlab_body_tokens": 0, "flanlab_head_tokens": 0}
    for prompt, conts in continuations.items():
        for cont in conts:
            ctx, opt = encode_pair(tok, prompt, cont)
            opt = opt + [tok.eos_token_id]  # rank_eos (the default): every option ends with EOS
            groups.add(tuple(ctx + opt[:-1]))
        enc = encode_requests(tok, "decoder", [RankRequest(prompt, tuple(conts), eos=True)], max_length)[0]
        ours["flanlab_body_tokens"] += enc.length
        ours["flanlab_head_tokens"] += 1 + enc.trie.n_internal
    lm = sum(len(g) for g in groups)
    return {"lm_eval_forwards": len(groups), "lm_eval_body_tokens": lm, "lm_eval_head_tokens": lm, **ours}


def work_ratio(model, tok, continuations: dict[str, list[str]]) -> dict:
    """`work_ratio` (lm-eval FLOPs / ours) and the token counts behind it; see the module docstring."""
    from flanlab.evaluation.rank import model_max_length

    body, head = flops_per_token(model)
    n = work_tokens(tok, continuations, model_max_length(model, tok))
    lm = body * n["lm_eval_body_tokens"] + head * n["lm_eval_head_tokens"]
    ours = body * n["flanlab_body_tokens"] + head * n["flanlab_head_tokens"]
    return {**n, "body_flops_per_token": body, "head_flops_per_token": head, "work_ratio": round(lm / ours, 3)}


@contextlib.contextmanager
def exact_log_softmax():
    """Run lm-eval with `x - logsumexp(x)` in place of its fp32 `F.log_softmax` over the vocabulary.

    Diagnostic for the agreement figure: torch's CPU log_softmax sums ~50k exponentials in fp32 with
    ~1e-5 error per token (4.5e-4 over a 40-token PIQA option against a float64 forward), while
    logsumexp, which flanlab uses, stays ~1e-6. With the same reduction the two tools' scores can be
    compared at the 1e-4 level; everything else (prompts, tokens, model, batching) is lm-eval's own.
    """
    import torch.nn.functional as F
    from lm_eval.models import huggingface as hf_mod

    class _F:
        def __getattr__(self, name):
            return getattr(F, name)

        @staticmethod
        def log_softmax(x, dim=-1, **kw):
            return x - x.logsumexp(dim, keepdim=True)

    saved = hf_mod.F
    hf_mod.F = _F()
    try:
        yield
    finally:
        hf_mod.F = saved


def self_diff(a: dict[str, list[float]], b: dict[str, list[float]]) -> float | None:
    """Largest per-option |a - b| over the prompts both scored (None when they scored different prompts)."""
    if set(a) != set(b):
        return None
    return max(abs(x - y) for p in a for x, y in zip(a[p], b[p]))


def bench_one(label: str, model, tok, kind: str, task_name: str, args, tmp: Path) -> dict:
    from flanlab.evaluation.export_lm_eval import export
    from flanlab.evaluation.lm import HFLM
    from flanlab.tasks.registry import catalogue

    cat = catalogue()
    task = cat.task(task_name)
    out = tmp / label
    export(cat, [task], out, eos_text=tok.eos_token, source="mirror", data_dir=str(args.data_dir), limit=args.limit,
           templates=["01"])
    lm = HFLM(model, tok, kind, label, batch_size=args.flanlab_batch_size)
    best = {"lm_eval": float("inf"), "flanlab": float("inf")}
    best_cpu = dict(best)
    scores: dict[str, dict] = {}
    for rep in range(args.repeats):
        order = ("lm_eval", "flanlab") if rep % 2 == 0 else ("flanlab", "lm_eval")
        for who in order:
            if who == "lm_eval":
                wall, s = run_lm_eval(model, tok, out, f"flanlab_{task_name}_01", args.lm_eval_batch_size)
            else:
                wall, s = run_flanlab(lm, cat, task, args)
            best[who], best_cpu[who], scores[who] = min(best[who], wall[0]), min(best_cpu[who], wall[1]), s
    n = len(scores["flanlab"])
    row = {"model": label, "task": task_name, "examples": n,
           "lm_eval_ex_per_s": round(n / best["lm_eval"], 3), "flanlab_ex_per_s": round(n / best["flanlab"], 3),
           "ratio": round(best["lm_eval"] / best["flanlab"], 3),
           "lm_eval_cpu_s_per_ex": round(best_cpu["lm_eval"] / n, 3), "flanlab_cpu_s_per_ex": round(best_cpu["flanlab"] / n, 3),
           "ratio_cpu": round(best_cpu["lm_eval"] / best_cpu["flanlab"], 3), **compare(scores["flanlab"], scores["lm_eval"])}
    if kind == "decoder":  # lm-eval's seq2seq path neither groups nor shares: a different count
        row.update(work_ratio(model, tok, run_flanlab.continuations))
        row["efficiency_ratio"] = round(row["ratio"] / row["work_ratio"], 3)
    if args.lm_eval_self_check and args.lm_eval_batch_size != 1:  # untimed: only the numbers matter
        _, at_one = run_lm_eval(model, tok, out, f"flanlab_{task_name}_01", 1)
        row["lm_eval_self_diff"] = self_diff(at_one, scores["lm_eval"])
    if args.lm_eval_exact_softmax:  # untimed: lm-eval with its vocabulary normalisation done as ours
        with exact_log_softmax():
            _, exact = run_lm_eval(model, tok, out, f"flanlab_{task_name}_01", args.lm_eval_batch_size)
        row["max_loglik_diff_lm_eval_exact_softmax"] = self_diff(exact, scores["flanlab"])
    if args.fp64 and row.get("same_prompts"):
        row.update(fp64_errors(model, tok, {**scores, "flanlab_options": run_flanlab.options}, args.fp64))
    print(json.dumps(row), file=sys.stderr)
    return row


def gen_requests(cat, task, mode: str, lm, args) -> list:
    """The GenRequests a flanlab cell (template 01, or `mode` baseline) makes for `--limit` test examples."""
    from flanlab.evaluation.cell import Cell, _joins, _render_all, load_examples, target_budget
    from flanlab.evaluation.config import EvalConfig
    from flanlab.evaluation.generation import GenRequest

    cfg = EvalConfig(tasks=[task.name], limit=args.gen_limit, source="mirror", data_dir=str(args.data_dir),
                     mode=mode, cache=False)
    cell = Cell(task, "01" if mode == "natural" else mode, "test", 0, mode)
    pairs = _render_all(cell, cfg, cat, lm, load_examples(cell, cfg))
    suffix, _ = _joins(cfg, lm)
    budget = target_budget(cfg, lm, pairs)
    return [GenRequest(r.inputs + suffix, budget, cfg.stop_strings(), f"{task.name} {r.example_id}") for _, r in pairs]


def run_lm_eval_generate(model, tok, reqs, batch_size: int) -> tuple[tuple[float, float], list[str]]:
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM as LmEvalHFLM

    t0, c0 = time.perf_counter(), time.process_time()
    lm = LmEvalHFLM(pretrained=model, tokenizer=tok, batch_size=batch_size)
    inst = [Instance("generate_until", {}, (r.context, {"until": list(r.stop), "max_gen_toks": r.max_new_tokens,
                                                            "do_sample": False}), i) for i, r in enumerate(reqs)]
    out = lm.generate_until(inst, disable_tqdm=True)
    return (time.perf_counter() - t0, time.process_time() - c0), out


def run_flanlab_generate(lm, reqs) -> tuple[tuple[float, float], list]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = lm.generate(reqs)
    return (time.perf_counter() - t0, time.process_time() - c0), out


def generation_work(tok, reqs, n_generated: list[int], batch_size: int, leave: bool,
                    prefill_tokens: int | None = None) -> dict[str, int]:
    """Prompt tokens with padding and decoding row-steps over batches of `batch_size` in descending prompt
    length (both tools' order); `leave`: an ended row leaves its batch (flanlab) or stays to the end (lm-eval);
    `prefill_tokens`: flanlab's cap on one prefill forward (its groups are padded to their own longest)."""
    from flanlab.evaluation.generation import _prefill_groups

    lengths = [len(tok(r.context, add_special_tokens=False)["input_ids"]) for r in reqs]
    order = sorted(range(len(reqs)), key=lambda i: -lengths[i])
    prefill = steps = 0
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        for g in _prefill_groups([lengths[i] for i in idx], prefill_tokens):
            prefill += len(g) * lengths[idx[g[0]]]
        steps += sum(n_generated[i] for i in idx) if leave else len(idx) * max(n_generated[i] for i in idx)
    return {"prefill_tokens": prefill, "decode_row_steps": steps}


def bench_generate(label: str, model, tok, kind: str, spec: str, args) -> dict:
    from flanlab.evaluation.lm import HFLM
    from flanlab.tasks.registry import catalogue

    task_name, _, mode = spec.partition(":")
    cat = catalogue()
    lm = HFLM(model, tok, kind, label, batch_size=args.flanlab_gen_batch_size)
    reqs = gen_requests(cat, cat.task(task_name), mode or "natural", lm, args)
    best = {"lm_eval": (float("inf"),) * 2, "flanlab": (float("inf"),) * 2}
    outs: dict[str, list] = {}
    for rep in range(args.repeats):
        for who in (("lm_eval", "flanlab") if rep % 2 == 0 else ("flanlab", "lm_eval")):
            if who == "lm_eval":
                t, outs[who] = run_lm_eval_generate(model, tok, reqs, args.lm_eval_batch_size)
            else:
                t, outs[who] = run_flanlab_generate(lm, reqs)
            best[who] = tuple(min(a, b) for a, b in zip(best[who], t))
    ours, theirs = [g.text for g in outs["flanlab"]], [s.strip() for s in outs["lm_eval"]]
    n = len(reqs)
    same = sum(a == b for a, b in zip(ours, theirs))
    n_gen = [g.n_tokens + (g.stopped == "eos") for g in outs["flanlab"]]  # the EOS is a decoding step too
    lw = generation_work(tok, reqs, n_gen, args.lm_eval_batch_size, leave=False)
    fw = generation_work(tok, reqs, n_gen, args.flanlab_gen_batch_size, leave=True)
    row = {"model": label, "task": task_name, "mode": mode or "natural", "examples": n,
           "max_new_tokens": reqs[0].max_new_tokens, "stop": list(reqs[0].stop),
           "prompt_tokens": generation_work(tok, reqs, n_gen, 1, True)["prefill_tokens"],
           "lm_eval_ex_per_s": round(n / best["lm_eval"][0], 3), "flanlab_ex_per_s": round(n / best["flanlab"][0], 3),
           "ratio": round(best["lm_eval"][0] / best["flanlab"][0], 3),
           "ratio_cpu": round(best["lm_eval"][1] / best["flanlab"][1], 3),
           "identical_outputs": same, "identical_share": round(same / n, 3),
           "generated_tokens": sum(n_gen), "mean_generated_tokens": round(sum(n_gen) / n, 1),
           "stopped": {k: sum(g.stopped == k for g in outs["flanlab"]) for k in ("eos", "stop", "length")},
           **{f"lm_eval_{k}": v for k, v in lw.items()}, **{f"flanlab_{k}": v for k, v in fw.items()}}
    if same < n:
        diffs = [{"flanlab": a, "lm_eval": b} for a, b in zip(ours, theirs) if a != b]
        row["first_difference"] = diffs[0]
        row["differences"] = diffs[:8]
        # lm-eval cuts at a stop string even when it is the first thing generated (an empty answer); flanlab's
        # STOP_RULE looks for stop strings after leading whitespace: the same greedy tokens, cut differently
        row["differences_from_stop_rule"] = sum(b == "" and a != "" for a, b in zip(ours, theirs))
    print(json.dumps(row), file=sys.stderr)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", default="rte,piqa")
    ap.add_argument("--limit", type=int, default=32, help="examples per task (RTE has 277, PIQA 1838)")
    ap.add_argument("--models", default="tiny,smollm2-135m-instruct")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--lm-eval-batch-size", type=int, default=16)
    ap.add_argument("--flanlab-batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=1, help="alternate the order and keep the best time")
    ap.add_argument("--gen-tasks", default="triviaqa:baseline,wmt16_de_en:baseline,wmt16_de_en:natural",
                    help="generation benchmark: task[:mode] list (mode natural = template 01, or baseline); '' skips")
    ap.add_argument("--gen-limit", type=int, default=32, help="examples per generation task")
    ap.add_argument("--flanlab-gen-batch-size", type=int, default=16)
    ap.add_argument("--rank", action=argparse.BooleanOptionalAction, default=True,
                    help="run the rank-classification benchmark (--no-rank: generation only)")
    ap.add_argument("--fp64", type=int, default=4, help="prompts checked against a float64 forward (0: none)")
    ap.add_argument("--lm-eval-self-check", action=argparse.BooleanOptionalAction, default=True,
                    help="also run lm-eval at batch size 1 (untimed) and report lm_eval_self_diff")
    ap.add_argument("--lm-eval-exact-softmax", action=argparse.BooleanOptionalAction, default=True,
                    help="also run lm-eval with logsumexp normalisation (untimed) and report "
                         "max_loglik_diff_lm_eval_exact_softmax")
    args = ap.parse_args()
    try:
        import lm_eval  # noqa: F401
    except ImportError:
        print(json.dumps({"skipped": "lm_eval is not installed (pip install lm-eval)"}))
        return
    import torch

    torch.manual_seed(0)
    rows, gen_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            if name == "tiny":
                from flanlab.testing import tiny_model, tiny_tokenizer

                model, tok, kind = tiny_model("llama").eval(), tiny_tokenizer(), "decoder"
            else:
                from flanlab.models import resolve_model

                loaded = resolve_model(name, device="cpu", dtype="fp32")
                model, tok, kind = loaded.model, loaded.tokenizer, loaded.kind
            for task in (args.tasks.split(",") if args.rank else []):
                rows.append(bench_one(name, model, tok, kind, task, args, Path(tmp)))
            for spec in filter(None, args.gen_tasks.split(",")):
                gen_rows.append(bench_generate(name, model, tok, kind, spec, args))
    print(json.dumps({"benchmark": "eval_rank_vs_lm_eval", "limit": args.limit, "threads": torch.get_num_threads(),
                      "lm_eval_batch_size": args.lm_eval_batch_size, "flanlab_batch_size": args.flanlab_batch_size,
                      "repeats": args.repeats, "results": rows,
                      "generation": {"limit": args.gen_limit, "flanlab_batch_size": args.flanlab_gen_batch_size,
                                     "results": gen_rows}}))


if __name__ == "__main__":
    main()
