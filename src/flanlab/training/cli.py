"""`flanlab train`: instruction-tune a model on a task mixture.

    flanlab train --model smollm2-135m-instruct --holdout nli --steps 200 --out runs/flan-nli
    flanlab train -c configs/train/smoke.yaml --set optim.lr=1e-4 --set batch.tokens=2048
    flanlab train --resume --out runs/flan-nli             # continue a killed run exactly
    accelerate launch --num_processes 2 $(which flanlab) train -c configs/train/paper.yaml
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli_common import CONFIG, DATA_DIR, DEVICE, JSON, OVERWRITE, SET
from ..console import err, print_json

COMMAND_SETTINGS = {"help": "Instruction-tune a model on a task mixture (FLAN recipe: Adafactor 3e-5, 8,192-token "
                    "steps, packing, loss on targets).\n\nExample: flanlab train --model smollm2-135m-instruct "
                    "--holdout nli --steps 200 --out runs/flan-nli"}


def _split_list(values: Optional[list[str]]) -> Optional[list[str]]:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def resolve_config(config: Optional[Path], sets: Optional[list[str]], cli: dict, out: Optional[Path],
                   resume: bool):
    """YAML -> --set -> options; on --resume without --config, the run's own config.yaml is the base."""
    from ..config import load_config
    from .config import TrainConfig

    if resume and config is None and out is not None and (out / "config.yaml").is_file():
        config = out / "config.yaml"
    return load_config(TrainConfig, config, sets, cli, section="train")


def command(
    config: Optional[Path] = CONFIG,
    set_: Optional[list[str]] = SET,
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Hub id, local dir, gguf:PATH or alias."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Optimizer steps (paper: 30,000)."),
    holdout: Optional[list[str]] = typer.Option(None, "--holdout", help="Held-out cluster(s), e.g. nli or nli,commonsense."),
    method: Optional[str] = typer.Option(None, "--method", help="full, lora or prompt."),
    tokens: Optional[int] = typer.Option(None, "--tokens", help="Token budget per optimizer step (paper: 8,192)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default by method: 3e-5 full)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory (default runs/train-<model>-<time>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its latest checkpoint."),
    overwrite: bool = OVERWRITE,
    device: Optional[str] = DEVICE,
    data_dir: Optional[Path] = DATA_DIR,
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the model initialisation and dropout."),
    trackers: Optional[list[str]] = typer.Option(
        None, "--trackers", help="Experiment trackers (comma-separated): tensorboard, wandb, mlflow. Loss, lr, "
        "tokens/s and any evaluation go through accelerate's trackers; files in <run>/logs."),
    eval_every: Optional[int] = typer.Option(None, "--eval-every", help="Score held-out tasks every N steps (and "
                                             "at step 0 and the end): rank classification, metrics.jsonl + trackers."),
    eval_tasks: Optional[list[str]] = typer.Option(None, "--eval-tasks", help="Tasks or clusters for --eval-every "
                                                   "(default: the held-out classification tasks)."),
    json_: bool = JSON,
) -> None:
    """Instruction-tune a model on a task mixture and save it with save_pretrained (model/ in the run dir).

    Example: flanlab train --model smollm2-135m-instruct --holdout nli --steps 200 --out runs/flan-nli
    """
    from ..console import log
    from .train import train

    cli = {"model": model, "steps": steps, "mixture.holdout": _split_list(holdout), "tuning.method": method,
           "batch.tokens": tokens, "optim.lr": lr, "out": str(out) if out else None, "device": device,
           "mixture.data_dir": str(data_dir) if data_dir else None, "seed": seed,
           "trackers": _split_list(trackers), "eval.every": eval_every, "eval.tasks": _split_list(eval_tasks)}
    if resume and out is None:
        raise typer.BadParameter("--resume continues the run in --out DIR; pass --out", param_hint="--resume")
    cfg = resolve_config(config, set_, cli, out, resume)
    from ..hooks import make_train_evaluator

    path = train(cfg, resume=resume, overwrite=overwrite, evaluator=make_train_evaluator(cfg))
    if not _is_main():  # under accelerate launch, one process reports
        return
    from ..runs import read_json

    record = read_json(path / "run.json")
    result = {"run": str(path), "model": str(path / "model") if (path / "model").is_dir() else None,
              "adapter": str(path / "adapter") if (path / "adapter").is_dir() else None,
              "summary": record.get("summary")}
    if json_:
        print_json(result)
        return
    s = result["summary"] or {}
    log(f"[green]trained[/green] {s.get('steps')} steps, final loss {s.get('final_loss', float('nan')):.4f}, "
        f"{s.get('tokens_per_s')} tokens/s -> {result['model'] or result['adapter']}")
    err.print(f"metrics: {path / 'metrics.jsonl'}")


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"
