"""One function per step kind, each calling the stage that owns the work (never re-implementing it).

Every executor gets (step, its directory, the experiment directory, the experiment config) and leaves a
finished `run.json` in the step directory; the stages write theirs, the others use `RunDir` here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..console import err
from ..errors import FlanlabError
from ..runs import RunDir
from .steps import Step, step_dir

if TYPE_CHECKING:
    from ..evaluation.lm import LM

MODEL_DIR = "model"


def model_path(ref: dict[str, str], exp_dir: Path) -> str:
    """A step's model: a base model name, or the `model/` directory a train step saved."""
    if "base" in ref:
        return ref["base"]
    path = step_dir(exp_dir, ref["step"]) / MODEL_DIR
    if not path.is_dir():
        raise FlanlabError(f"step {ref['step']} has no {MODEL_DIR}/ directory at {path}; rerun the experiment")
    return str(path)


def _catalogue(mixture: dict[str, Any] | None = None, ev: dict[str, Any] | None = None):
    from ..tasks import catalogue

    files: list[str] = []
    for section in (mixture or {}, ev or {}):
        f = section.get("tasks_file") or []
        files += [f] if isinstance(f, str) else list(f)
    return catalogue(dict.fromkeys(files))


def run_mixture(step: Step, d: Path, exp_dir: Path, cfg) -> None:
    """Resolve the mixture: which tasks train, which are held out and why, each task's rate and share."""
    from ..mixtures import Mixture, MixtureConfig

    mcfg = MixtureConfig.model_validate(step.inputs["mixture"])
    run = RunDir.create(d, "experiment mixture", config=mcfg, overwrite=True)
    mix = Mixture(mcfg, _catalogue(step.inputs["mixture"]))
    rates = mix.rates()
    run.write_json("mixture.json", {"holdout": mcfg.holdout, "include": mcfg.include, "train_tasks": list(rates),
                                    "held_out": dict(mix.split.held_out), "skipped": dict(mix.skipped_tasks),
                                    "rates": rates, "plan": mix.plan()})
    err.print(f"  mixture: {len(rates)} training task(s): {', '.join(rates)}", highlight=False)
    if mix.skipped_tasks:
        names = sorted(mix.skipped_tasks)
        err.print(f"  mixture: {len(names)} task(s) without training data skipped ({', '.join(names[:5])}"
                  f"{', ...' if len(names) > 5 else ''}; all listed in {d / 'mixture.json'})", highlight=False)
    run.finish({"train_tasks": len(rates), "held_out": len(mix.split.held_out), "skipped": len(mix.skipped_tasks)})


def run_train(step: Step, d: Path, exp_dir: Path, cfg) -> None:
    from ..training.config import TrainConfig
    from ..training.train import train

    data = {**step.inputs["train"], "model": step.inputs["model"], "mixture": step.inputs["mixture"],
            "out": str(d)}
    tcfg = TrainConfig.model_validate(data)
    # a crashed train step continues from its last checkpoint (the trainer resumes exactly)
    resume = (d / "checkpoints").is_dir() and any((d / "checkpoints").iterdir())
    if not resume:
        _clear_unfinished(d)
    from ..evaluation.in_training import checkpoint_evaluator

    train(tcfg, resume=resume, evaluator=checkpoint_evaluator(tcfg))  # train.eval.every: held-out curve


def _clear_unfinished(d: Path) -> None:
    """A crashed step is redone from scratch (our own step.json is kept); stages refuse half-full dirs."""
    import shutil

    for p in d.iterdir():
        if p.name == "step.json":
            continue
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def eval_config(inputs: dict[str, Any], model: str, out: Path):
    from ..evaluation.config import EvalConfig

    data = {**inputs["eval"], "model": model, "shots": inputs["shots"], "mode": inputs["mode"], "out": str(out)}
    if inputs.get("tasks"):
        data["tasks"] = inputs["tasks"]
    else:
        data["clusters"] = inputs["clusters"]
    return EvalConfig.model_validate(data)


def evaluate_into(ecfg, d: Path, lm: LM | None = None, command: str = "eval") -> dict[str, Any]:
    """Run the evaluation stage's entry point with `d` as its run directory; a step whose cells failed is
    recorded `partial`/`failed` by the stage and fails here, naming its errors."""
    from ..evaluation.run import evaluate
    from ..runs import read_json

    path = evaluate(ecfg, lm=lm, command=command, overwrite=True)
    record = read_json(path / "run.json")
    if record.get("status") != "finished":
        errors = "; ".join(f"{e['count']} x {e['error']}" for e in record.get("errors", [])[:3])
        raise FlanlabError(f"evaluation in {path} {record.get('status')}: {record.get('error')}: {errors}")
    return read_json(path / "results.json")


def run_eval(step: Step, d: Path, exp_dir: Path, cfg) -> None:
    ecfg = eval_config(step.inputs, model_path(step.inputs["model"], exp_dir), d)
    _clear_unfinished(d)
    evaluate_into(ecfg, d)


def run_prompt_tune(step: Step, d: Path, exp_dir: Path, cfg) -> None:
    """Train a soft prompt on one task (full train split or N examples), then evaluate it on that task."""
    from ..training.config import TrainConfig
    from ..training.train import train

    inp = step.inputs
    mixture = inp["mixture"]
    tuning = {**(inp["train"].get("tuning") or {}), "method": "prompt"}
    _clear_unfinished(d)
    tcfg = TrainConfig.model_validate({**inp["train"], "model": model_path(inp["model"], exp_dir),
                                       "mixture": mixture, "tuning": tuning, "out": str(d / "prompt")})
    train(tcfg)
    from ..evaluation.lm import soft_prompt_lm

    ecfg = eval_config({"eval": inp["eval"], "tasks": [inp["task"]], "clusters": [], "shots": 0,
                        "mode": "natural"}, str(d / "prompt"), d)
    evaluate_into(ecfg, d, lm=soft_prompt_lm(d / "prompt", batch_size=ecfg.batch_size), command="prompt_tune")


def run_contamination(step: Step, d: Path, exp_dir: Path, cfg) -> None:
    from ..mixtures import Mixture, MixtureConfig
    from ..tasks import iter_examples
    from .contamination import NgramIndex, check_task

    inp = step.inputs
    mcfg = MixtureConfig.model_validate(inp["mixture"])
    run = RunDir.create(d, "experiment contamination", overwrite=True)
    cat = _catalogue(inp["mixture"], inp["eval"])
    index = NgramIndex(n=inp["n"])
    train_tasks = list(Mixture(mcfg, cat).rates())  # the tasks that actually train (with data)
    for t in train_tasks:
        index.add_examples(t, _examples(cat.task(t), "train", min(mcfg.cap, inp["max_train_examples"]),
                                        mcfg.source, mcfg.data_dir, iter_examples, mcfg.split_overrides))
    ev = inp["eval"]
    tasks = inp["tasks"] or [t.name for t in cat.resolve_tasks(clusters=inp["clusters"])]
    rows = []
    for t in tasks:
        limit = inp["max_eval_examples"] or ev.get("limit")  # the examples the evaluation actually scores
        rows.append(check_task(index, t, _examples(cat.task(t), "test", limit,
                                                   ev.get("source", "auto"), ev.get("data_dir"), iter_examples,
                                                   ev.get("split_overrides"), sample=ev.get("sample", "first"),
                                                   seed=ev.get("seed", 0)),
                               tuned_on_task=t in train_tasks))
    run.write_json("contamination.json", {"n": inp["n"], "train_tasks": train_tasks,
                                          "train_examples": dict(index.examples), "tasks": rows})
    run.finish({"contaminated_tasks": sum(1 for r in rows if r["contaminated"])})


def _examples(task, role, limit, source, data_dir, iter_examples, overrides=None, sample="first", seed=0):
    """Examples of a role (the evaluation's subset: `sample`, `seed`), or none (with a note) when the source
    has no such split."""
    try:
        yield from iter_examples(task, role, source=source or "auto", data_dir=data_dir, limit=limit,
                                 split_overrides=(overrides or {}).get(task.name), sample=sample, seed=seed)
    except FlanlabError as e:
        err.print(f"  [yellow]contamination: skipping {task.name} {role}: {e}[/yellow]", highlight=False)


def run_report(step: Step, d: Path, exp_dir: Path, cfg) -> None:
    from .report import write_report

    run = RunDir.create(d, "experiment report", overwrite=True)
    out = write_report([exp_dir], d, title=f"{cfg.name}: {cfg.kind.replace('_', ' ')}")
    run.finish({k: str(v) for k, v in out.items()})


EXECUTORS: dict[str, Callable[[Step, Path, Path, Any], None]] = {
    "mixture": run_mixture, "train": run_train, "eval": run_eval, "prompt_tune": run_prompt_tune,
    "contamination": run_contamination, "report": run_report,
}
