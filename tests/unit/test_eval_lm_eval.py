"""Agreement with lm-evaluation-harness: same model, same exported prompts -> same per-option log-likelihoods.

Options are scored followed by EOS (flanlab's default rank scoring, paper section 2.3 with FLAN's EOS-ended
targets): the export appends the EOS text to each choice, lm-eval's tokenizer turns it into the EOS token,
and flanlab appends the EOS id; both must give the same numbers. Baseline prompts score the option alone.

Skipped when `lm_eval` (a benchmark-only dependency: pip install lm-eval) is not installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_eval_runner import write_toy  # noqa: E402

lm_eval = pytest.importorskip("lm_eval")


def _lm_eval_scores(model, tok, task_dir: Path, names: list[str]) -> dict[str, list[dict]]:
    from lm_eval.models.huggingface import HFLM as LmEvalHFLM
    from lm_eval.tasks import TaskManager

    lm = LmEvalHFLM(pretrained=model, tokenizer=tok, batch_size=4)
    tm = TaskManager(include_path=str(task_dir), include_defaults=False)
    res = lm_eval.simple_evaluate(model=lm, tasks=names, task_manager=tm, log_samples=True, bootstrap_iters=0)
    return res["samples"]


def test_flanlab_matches_lm_eval(tmp_path, tiny_tok):
    from flanlab.evaluation.export_lm_eval import export
    from flanlab.evaluation.rank import RankRequest, score
    from flanlab.tasks.registry import catalogue
    from flanlab.testing import tiny_model

    files, data = write_toy(tmp_path, n=12)
    cat = catalogue([str(files)])
    out = tmp_path / "lm_eval_tasks"
    task = [cat.task("toy_nli")]
    export(cat, task, out / "natural", eos_text=tiny_tok.eos_token, source="mirror", data_dir=str(data), templates=["01"])
    export(cat, task, out / "baseline", mode="baseline", source="mirror", data_dir=str(data))  # " True" / " False"
    export(cat, task, out / "no_eos", eos_text=tiny_tok.eos_token, source="mirror", data_dir=str(data),
           templates=["02"], rank_eos=False)  # the former scoring, kept as an option
    model = tiny_model("llama").eval()
    samples = _lm_eval_scores(model, tiny_tok, out, ["flanlab_toy_nli_01", "flanlab_toy_nli_baseline",
                                                     "flanlab_toy_nli_02"])
    compared = 0
    for name, delim, eos in (("flanlab_toy_nli_01", "", True), ("flanlab_toy_nli_baseline", " ", False),
                             ("flanlab_toy_nli_02", "", False)):
        docs = sorted(samples[name], key=lambda s: s["doc_id"])
        for s in docs:
            assert s["doc"]["choices"] == [o + (tiny_tok.eos_token if eos else "") for o in s["doc"]["options"]]
        reqs = [RankRequest(s["doc"]["prompt"], tuple(delim + o for o in s["doc"]["options"]), eos=eos) for s in docs]
        ours = score(model, tiny_tok, "decoder", reqs, batch_size=16)
        for s, mine in zip(docs, ours):
            theirs = [r[0][0] for r in s["resps"]]
            assert [m.logprob for m in mine] == pytest.approx(theirs, abs=1e-4)
            assert max(range(len(theirs)), key=theirs.__getitem__) == max(range(len(mine)), key=lambda i: mine[i].logprob)
            compared += 1
    assert compared == 36
