"""`flanlab train`: one explicit training loop on accelerate, readable top to bottom.

    flanlab train --model smollm2-135m-instruct --holdout nli --steps 200 --out runs/flan-nli
    flanlab train --resume --out runs/flan-nli                                # continue after a crash
    accelerate launch --num_processes 2 $(which flanlab) train -c configs/train/paper.yaml   # DDP/FSDP/...

    from flanlab.training import TrainConfig, train
    run_path = train(TrainConfig(model="runs/base/model", steps=100))

setup (accelerator, run directory, model, mixture, optimizer, resume) -> train (token-budget steps:
gradient accumulation over micro-batches, one optimizer update per step) -> cleanup (final model, run
record). The scale-out strategy (one CPU, one GPU, DDP, FSDP, DeepSpeed ZeRO) is whatever the accelerate
config says; this file never branches on it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..console import err, log
from ..errors import FlanlabError
from ..runs import RunDir, check_interrupt
from . import checkpoint as ckpt
from . import data
from .config import TrainConfig

METRICS = "metrics.jsonl"
# evaluator(model, tokenizer, kind, step) -> {"tasks": {task: score}, "clusters": {cluster: score}, "mean": score,
# ...}: the neutral interface through which a later stage (flanlab.evaluation.in_training) scores the live model.
Evaluator = Callable[[Any, Any, str, int], dict[str, Any]]
TRACKER_LOGS = "logs"  # <run>/logs: TensorBoard events, W&B and MLflow files
TRACKER_PROJECT = "flanlab"  # W&B project, MLflow experiment, TensorBoard sub-folder
PHASES = ("data", "forward", "backward", "optimizer", "checkpoint")


@dataclass
class Session:
    """Everything the loop needs, built by `setup`."""

    cfg: TrainConfig
    accelerator: Any
    path: Path
    run: RunDir | None  # only on the main process
    module: Any  # LossModule, prepared by accelerate
    tokenizer: Any
    kind: str
    optimizer: Any
    scheduler: Any
    mix: Any
    state: ckpt.TrainState
    cache: Any = None  # the mixtures stage's FeatureCache of a real Mixture (None for other streams)
    mask_form: str = "4d"  # packed rows: "segments" (packed_attention) or "4d" (block-diagonal mask)
    timings: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    last_loss: float | None = None
    evaluator: Evaluator | None = None  # held-out scores at checkpoints (cfg.eval), injected by the caller

    @property
    def model(self):
        return self.accelerator.unwrap_model(self.module).model


# -- setup ------------------------------------------------------------------------------------------------

def check_trackers(trackers: list[str]) -> None:
    """accelerate silently drops a tracker whose package is missing; flanlab says so instead."""
    import importlib.util

    missing = [t for t in trackers if importlib.util.find_spec(t) is None]
    if missing:
        raise FlanlabError(f"trackers: {', '.join(missing)} not installed; pip install {' '.join(missing)} "
                           "(or pip install 'flanlab[tracking]'), or remove them from `trackers`")


def make_accelerator(cfg: TrainConfig):
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration

    check_trackers(list(cfg.trackers))
    mp = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}.get(cfg.precision)
    cpu = cfg.device == "cpu"
    if mp is None:  # auto: bf16 where the GPU supports it, fp32 on CPU
        import torch

        mp = "bf16" if not cpu and torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    # The logging directory is set in `setup`, once the run directory is known; TensorBoard needs one now.
    return Accelerator(mixed_precision=mp, cpu=cpu, log_with=list(cfg.trackers) or None,
                       project_config=ProjectConfiguration(logging_dir=TRACKER_LOGS))


def name_deepspeed_batch(accelerator, cfg: TrainConfig) -> None:
    """DeepSpeed sizes its batches from the dataloaders handed to `prepare`; flanlab hands none (it groups
    rows into token-budget steps itself), so the micro-batch is named here."""
    plugin = getattr(accelerator.state, "deepspeed_plugin", None)
    if plugin is not None and plugin.is_auto("train_micro_batch_size_per_gpu"):
        plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = cfg.batch.micro_rows


def default_out(cfg: TrainConfig) -> Path:
    slug = Path(cfg.model.rstrip("/")).name.replace(":", "-") or "model"
    return Path("runs") / f"train-{slug}-{time.strftime('%Y%m%d-%H%M%S')}"


def shared_out(accelerator, cfg: TrainConfig) -> Path:
    """The run directory, decided on the main process (the default name has a timestamp)."""
    from accelerate.utils import broadcast_object_list

    chosen = [str(cfg.out or default_out(cfg)) if accelerator.is_main_process else None]
    if accelerator.num_processes > 1:
        broadcast_object_list(chosen)
    return Path(chosen[0])


def load_model(cfg: TrainConfig):
    """(model, tokenizer, kind) through flanlab.models; any loading failure is a user error."""
    from ..models import resolve_model

    try:
        lm = resolve_model(cfg.model, device="cpu", dtype="fp32", trust_remote_code=cfg.trust_remote_code)
    except FlanlabError:
        raise
    except Exception as e:  # a broken directory can fail in many ways inside transformers
        raise FlanlabError(f"could not load model {cfg.model!r}: {type(e).__name__}: {e}") from None
    return lm.model, lm.tokenizer, lm.kind


def build_mixture(cfg: TrainConfig):
    from ..mixtures.mixture import Mixture
    from ..tasks import catalogue

    return Mixture(cfg.mixture, catalogue(cfg.mixture.tasks_file or None))


def choose_loss(cfg: TrainConfig, model, kind: str) -> bool:
    """True: project only target positions through the LM head (see modeling.py)."""
    from .modeling import supports_targets_only

    if cfg.loss == "auto":
        return supports_targets_only(model, kind)
    return cfg.loss == "targets"


def choose_attention(cfg: TrainConfig, model, kind: str) -> str:
    """How packed rows keep examples apart: "segments" (per-example attention) or "4d" (a block mask)."""
    from .packed_attention import use_segment_attention

    if cfg.attention == "mask" or not packs(cfg, model, kind):
        return "4d"
    if use_segment_attention(model, cfg.mixture.seq_len):
        return "segments"
    if cfg.attention == "segments":
        raise FlanlabError(f"attention=segments: model {cfg.model!r} does not dispatch attention through "
                           "transformers' attention interface, or its attention is not plain causal (logit "
                           "soft-capping, a sliding window shorter than a row); use attention=mask")
    return "4d"


# Settings a resumed run may change: they do not change the data, the model or the updates already made.
RESUMABLE = ("steps", "checkpoint.every", "checkpoint.keep", "log_every", "log_examples", "trackers", "device",
             "out", "eval.every", "eval.tasks", "eval.templates", "eval.limit")


def _flat(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def resume_changes(cfg: TrainConfig, path: Path) -> dict[str, dict[str, Any]]:
    """Compare a resumed run's settings with the ones it was trained with (its config.yaml).

    Returns the changes that are allowed (RESUMABLE: more steps, checkpoint policy, logging); anything that
    changes the data or the model is refused naming the key, as is resuming nothing or below a checkpoint.
    """
    import yaml

    from ..runs import RECORD

    stored_file = path / "config.yaml"
    if not (path / RECORD).is_file() or not stored_file.is_file():
        raise FlanlabError(f"--resume: {path} holds no run to continue (no {RECORD} / config.yaml); drop --resume "
                           "to start a new run there")
    try:
        stored = TrainConfig.model_validate(yaml.safe_load(stored_file.read_text()) or {})
    except Exception as e:
        raise FlanlabError(f"--resume: {stored_file} is not a valid training config ({e})") from None
    old, new = _flat(stored.model_dump(mode="json")), _flat(cfg.model_dump(mode="json"))
    diff = {k: {"from": old.get(k), "to": new.get(k)} for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}
    for key, d in diff.items():
        if key not in RESUMABLE:
            raise FlanlabError(f"--resume cannot change {key} (trained with {d['from']!r}, given {d['to']!r}): it "
                               f"changes the data or the model; keep it, or start a new run with another --out")
    if "steps" in diff and cfg.optim.schedule != "constant":
        raise FlanlabError(f"--resume cannot change steps ({diff['steps']['from']} -> {cfg.steps}) of a run with the "
                           f"{cfg.optim.schedule} schedule: its learning rates depend on the step count")
    last = ckpt.latest_checkpoint(path)
    done = int(last.name.split("-")[1]) if last is not None else 0
    if cfg.steps < done:
        raise FlanlabError(f"--steps {cfg.steps} is below the checkpoint being resumed ({last}, step {done}); "
                           f"pass --steps {done} or more")
    return diff


def preflight(cfg: TrainConfig) -> None:
    """Checks that need no model: the device, the data directory, the model's name."""
    from ..device import pick_device
    from ..tasks.sources import check_data_dir
    from ..models import resolve_path

    if cfg.device not in (None, "auto"):
        pick_device(cfg.device)  # --device tpu, or cuda without CUDA: an error, not silent CPU training
    check_data_dir(cfg.mixture.data_dir)
    resolve_path(cfg.model, trust_remote_code=cfg.trust_remote_code)


def setup(cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False, mixture: Any = None,
          evaluator: Evaluator | None = None) -> Session:
    import shutil

    if cfg.eval.every and evaluator is None:
        raise FlanlabError("eval.every: no evaluator was given; `flanlab train` provides one, from Python pass "
                           "evaluator=flanlab.evaluation.in_training.checkpoint_evaluator(cfg)")
    accelerator = make_accelerator(cfg)
    name_deepspeed_batch(accelerator, cfg)
    path = shared_out(accelerator, cfg)
    changes = resume_changes(cfg, path) if resume else {}
    preflight(cfg)
    accelerator.project_configuration.set_directories(str(path))
    accelerator.project_configuration.logging_dir = str(path / TRACKER_LOGS)  # trackers log inside the run
    run = None
    fresh = not path.exists()
    try:
        if accelerator.is_main_process:
            run = RunDir.create(path, "train", cfg, resume=resume, overwrite=overwrite)
            if not resume:  # --overwrite: a fresh start must not inherit the old run's metrics or checkpoints
                clear_outputs(path)
            if changes:
                step = ckpt.latest_checkpoint(path)
                run.update(changes=[*run.record.get("changes", []),
                                    {"at": run.record["started"], "from_step": int(step.name.split("-")[1])
                                     if step else 0, "changed": changes}])
                err.print("resume with changed settings: " + ", ".join(f"{k} {d['from']!r} -> {d['to']!r}"
                                                                       for k, d in changes.items()),
                          highlight=False, markup=False)
        return _setup(cfg, accelerator, path, run, resume, mixture, evaluator)
    except BaseException as e:
        if run is not None:
            if fresh and isinstance(e, FlanlabError):  # bad input found late: leave no half-made run directory
                shutil.rmtree(path, ignore_errors=True)
            else:
                run.stop(e)
        raise


def _setup(cfg: TrainConfig, accelerator: Any, path: Path, run: RunDir | None, resume: bool,
           mixture: Any, evaluator: Evaluator | None) -> Session:
    from accelerate.utils import set_seed

    from ..runs import param_counts
    from .modeling import LossModule, apply_tuning
    from .optim import build_optimizer, build_scheduler

    accelerator.wait_for_everyone()
    set_seed(cfg.seed)
    model, tokenizer, kind = load_model(cfg)
    mix = mixture if mixture is not None else build_mixture(cfg)
    model = apply_tuning(model, kind, cfg.tuning)
    model.train()
    if run is not None:
        run.update(params=param_counts(model))  # the report reads these; it never opens the weights
    module = LossModule(model, kind, targets_only=choose_loss(cfg, model, kind))
    mask_form = choose_attention(cfg, model, kind)
    optimizer = build_optimizer(module, cfg.optim.name, cfg.lr, cfg.weight_decay, cfg.optim.betas, cfg.optim.eps,
                                cfg.optim.fused)
    scheduler = build_scheduler(optimizer, cfg.optim.schedule, cfg.optim.warmup_steps, cfg.steps,
                                cfg.optim.min_lr_ratio)
    # The scheduler is not `prepare`d: accelerate would step it once per process; it is checkpointed instead.
    module, optimizer = accelerator.prepare(module, optimizer)
    accelerator.register_for_checkpointing(scheduler)
    s = Session(cfg, accelerator, path, run, module, tokenizer, kind, optimizer, scheduler, mix,
                ckpt.TrainState(), cache=feature_cache(mix, tokenizer, kind), mask_form=mask_form,
                evaluator=evaluator)
    if resume and (last := ckpt.latest_checkpoint(path)) is not None:
        s.state = ckpt.load_checkpoint(accelerator, last)
        trim_metrics(path / METRICS, s.state.step, accelerator.is_main_process)
        log(f"resumed from {last} (step {s.state.step}, mixture position {s.state.position})")
    if cfg.trackers:
        accelerator.init_trackers(TRACKER_PROJECT, config=_flat_config(cfg), init_kwargs=tracker_kwargs(path))
    return s


def feature_cache(mix, tokenizer, kind: str):
    """The disk cache of a real Mixture's tokenized examples (what `flanlab mixture pack` fills), else None."""
    from ..mixtures.mixture import Mixture
    from ..mixtures.stream import FeatureCache

    return FeatureCache(mix, tokenizer, kind) if isinstance(mix, Mixture) else None


def tracker_kwargs(path: Path) -> dict[str, dict[str, Any]]:
    """Each tracker names the run after its directory and keeps its files in <run>/logs.

    TensorBoard: <run>/logs/flanlab/events.*; W&B: project `flanlab`, files in <run>/logs (WANDB_MODE=offline
    works); MLflow: experiment `flanlab` at MLFLOW_TRACKING_URI (mlflow's default: ./mlruns).
    """
    return {"wandb": {"name": path.name, "dir": str(path / TRACKER_LOGS)}, "mlflow": {"run_name": path.name}}


def clear_outputs(path: Path) -> None:
    import shutil

    shutil.rmtree(path / ckpt.CHECKPOINTS, ignore_errors=True)
    for name in (METRICS, *(p.name for p in path.glob("examples-rank*.jsonl"))):
        (path / name).unlink(missing_ok=True)


def trim_metrics(path: Path, step: int, main: bool) -> None:
    """Drop metric lines past the checkpoint being resumed, so metrics.jsonl reads as one clean run."""
    import json

    if not main or not path.is_file():
        return
    keep = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln).get("step", 0) <= step]
    path.write_text("".join(ln + "\n" for ln in keep))


def _flat_config(cfg: TrainConfig) -> dict[str, Any]:
    def flat(d: dict, prefix: str = "") -> dict:
        out = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v if isinstance(v, (int, float, str, bool)) else str(v)
        return out

    return flat(cfg.model_dump(mode="json"))


# -- train ------------------------------------------------------------------------------------------------

def packs(cfg: TrainConfig, model, kind: str) -> bool:
    """Rows are packed: decoder-only, packing on, and no prompt tuning (it prepends virtual tokens to every
    row, which a packed row's block mask cannot express)."""
    from .modeling import is_prompt_learning

    return bool(cfg.mixture.packing) and kind == "decoder" and not is_prompt_learning(model)


def packed(s: Session) -> bool:
    return packs(s.cfg, s.model, s.kind)


def steps_from(s: Session) -> Iterator[data.StepBatch]:
    """Optimizer steps from the mixtures stage's rows (`mixtures.stream.rows`: tokenized, truncated, cached,
    packed, shuffled), starting at the state's cursor."""
    from ..mixtures import stream

    cursor = stream.Cursor(s.state.position, s.state.skip)
    rows = stream.rows(s.mix, s.tokenizer, s.kind, cursor, cfg=s.cfg.mixture, packed=packed(s), cache=s.cache)
    return data.step_batches(rows, s.cfg.batch.tokens, s.kind)


def collate(s: Session, rows: list[dict[str, Any]]) -> dict[str, Any]:
    batch = data.collate(rows, s.kind, pad_id=s.tokenizer.pad_token_id, mask=s.mask_form)
    return {k: v.to(s.accelerator.device) for k, v in batch.items()}


def train_step(s: Session, step: data.StepBatch) -> dict[str, Any]:
    """One optimizer update over the step's rows: this process's share, in micro-batches."""
    import torch

    acc, t = s.accelerator, s.timings
    world = acc.num_processes
    mine = data.shard(step.rows, acc.process_index, world)
    n_micro = data.n_micro_steps(len(step.rows), world, s.cfg.batch.micro_rows)
    groups = data.micro_batches(mine, s.cfg.batch.micro_rows, n_micro)
    # Each pass contributes sum(loss)/N_step; DDP averages gradients over processes, hence the * world.
    scale = world / max(1, step.targets)
    loss_sum = torch.zeros((), device=acc.device)
    deepspeed = acc.distributed_type == "DEEPSPEED"
    for i, rows in enumerate(groups):
        t0 = time.perf_counter()
        batch = collate(s, rows or [data.blank_row(step.rows[0])])
        t1 = time.perf_counter()
        sync = contextlib.nullcontext() if i == n_micro - 1 else acc.no_sync(s.module)
        if deepspeed:  # DeepSpeed steps inside backward at a boundary: only the step's last micro-batch is one
            acc.gradient_state._set_sync_gradients(i == n_micro - 1)
        with sync:
            loss, _ = s.module(**batch)
            t2 = time.perf_counter()
            acc.backward(loss * scale)
        t3 = time.perf_counter()
        loss_sum += loss.detach()
        t["data"] += t1 - t0
        t["forward"] += t2 - t1
        t["backward"] += t3 - t2
    t0 = time.perf_counter()
    grad_norm = None
    if s.cfg.optim.clip_grad_norm:
        norm = acc.clip_grad_norm_(s.module.parameters(), s.cfg.optim.clip_grad_norm)  # None under DeepSpeed
        grad_norm = None if norm is None else float(norm)
    lr = s.scheduler.get_last_lr()[0]
    s.optimizer.step()
    s.scheduler.step()
    s.optimizer.zero_grad(set_to_none=True)
    total = acc.reduce(loss_sum, "sum") if world > 1 else loss_sum
    t["optimizer"] += time.perf_counter() - t0
    return {"loss": float(total) / max(1, step.targets), "lr": lr, "grad_norm": grad_norm}


def advance(state: ckpt.TrainState, step: data.StepBatch, seconds: float) -> None:
    state.step += 1
    state.position, state.skip = step.cursor.position, step.cursor.skip
    state.examples += step.examples
    state.tokens += step.tokens
    state.target_tokens += step.targets
    state.elapsed += seconds


def metrics_row(s: Session, step: data.StepBatch, out: dict[str, Any], seconds: float) -> dict[str, Any]:
    st = s.state
    row = {"step": st.step, "loss": round(out["loss"], 6), "lr": out["lr"], "tokens": step.tokens,
           "target_tokens": step.targets, "rows": len(step.rows), "examples": step.examples,
           "tokens_per_s": round(step.tokens / seconds, 2) if seconds else None,
           "total_tokens": st.tokens, "elapsed_s": round(st.elapsed, 3)}
    if out["grad_norm"] is not None:
        row["grad_norm"] = round(out["grad_norm"], 6)
    return row


def log_examples(s: Session, step: data.StepBatch) -> None:
    """Which mixture positions this process trained on (`log_examples: true`): proves the sharding."""
    mine = data.shard(step.rows, s.accelerator.process_index, s.accelerator.num_processes)
    line = {"step": s.state.step, "positions": [p for r in mine for p in r["positions"]]}
    with open(s.path / f"examples-rank{s.accelerator.process_index}.jsonl", "a") as f:
        f.write(__import__("json").dumps(line) + "\n")


def train_loop(s: Session) -> None:
    from .progress import TrainProgress

    cfg, acc = s.cfg, s.accelerator
    if s.state.step >= cfg.steps:
        return
    batches = steps_from(s)
    if cfg.eval.every and s.state.step == 0:
        evaluate_now(s)  # the untuned starting point of the held-out curve
    with TrainProgress(cfg.steps, s.state.step, enabled=acc.is_main_process) as bar:
        while s.state.step < cfg.steps:
            check_interrupt()  # a Ctrl-C that native code swallowed during start-up or the last step
            t0 = time.perf_counter()
            step = next(batches, None)
            s.timings["data"] += time.perf_counter() - t0
            if step is None:
                raise FlanlabError(_ran_out(s))
            out = train_step(s, step)
            seconds = time.perf_counter() - t0
            advance(s.state, step, seconds)
            s.last_loss = out["loss"]
            row = metrics_row(s, step, out, seconds)
            bar.update(s.state, row)
            if cfg.log_examples:
                log_examples(s, step)
            if s.state.step % cfg.log_every == 0 or s.state.step == cfg.steps:
                if s.run is not None:
                    s.run.append_jsonl(METRICS, row)
                if cfg.trackers:
                    acc.log({k: v for k, v in row.items() if isinstance(v, (int, float))}, step=s.state.step)
            if cfg.checkpoint.every and s.state.step % cfg.checkpoint.every == 0:
                t1 = time.perf_counter()
                ckpt.save_checkpoint(acc, s.path, s.state, cfg.checkpoint.keep)
                s.timings["checkpoint"] += time.perf_counter() - t1
            if cfg.eval.every and (s.state.step % cfg.eval.every == 0 or s.state.step == cfg.steps):
                evaluate_now(s)


def evaluate_now(s: Session) -> None:
    """Score the live model with the injected evaluator (main process) and log an eval row: metrics.jsonl gets
    {"step", "eval": {...}, "eval_seconds"}, the trackers eval/<task>, eval/cluster/<name>, eval/mean.
    Not counted in the training time or tokens/s."""
    import torch

    acc = s.accelerator
    acc.wait_for_everyone()
    if acc.is_main_process:
        model, t0 = s.model, time.perf_counter()
        model.eval()
        try:
            with torch.no_grad():
                scores = s.evaluator(model, s.tokenizer, s.kind, s.state.step)
        finally:
            model.train()
        seconds = time.perf_counter() - t0
        s.timings["eval"] = s.timings.get("eval", 0.0) + seconds
        if s.run is not None:
            s.run.append_jsonl(METRICS, {"step": s.state.step, "eval": scores, "eval_seconds": round(seconds, 3)})
        if s.cfg.trackers:
            acc.log(tracker_scalars(scores), step=s.state.step)
    acc.wait_for_everyone()


def tracker_scalars(scores: dict[str, Any]) -> dict[str, float]:
    out = {f"eval/{t}": v for t, v in scores.get("tasks", {}).items() if v is not None}
    out.update({f"eval/cluster/{c}": v for c, v in scores.get("clusters", {}).items() if v is not None})
    if scores.get("mean") is not None:
        out["eval/mean"] = scores["mean"]
    return out


def _ran_out(s: Session) -> str:
    if s.state.step == 0:
        return (f"the mixture produced no training examples (holdout={s.cfg.mixture.holdout}); check the "
                "training tasks and their data (flanlab mixture plan)")
    return f"the mixture ran out of examples after {s.state.step} of {s.cfg.steps} steps"


# -- cleanup ----------------------------------------------------------------------------------------------

def summary(s: Session) -> dict[str, Any]:
    st, t = s.state, s.timings
    busy = sum(t[p] for p in ("data", "forward", "backward", "optimizer")) or 1.0
    return {"steps": st.step, "final_loss": s.last_loss, "examples": st.examples, "tokens": st.tokens,
            "target_tokens": st.target_tokens, "train_seconds": round(st.elapsed, 3),
            "tokens_per_s": round(st.tokens / st.elapsed, 2) if st.elapsed else None,
            "time_split": {p: round(t[p] / busy, 4) for p in ("data", "forward", "backward", "optimizer")},
            "seconds": {p: round(v, 3) for p, v in t.items()}, "processes": s.accelerator.num_processes,
            "state": asdict(st)}


def train(cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False, mixture: Any = None,
          evaluator: Evaluator | None = None) -> Path:
    """Train as `cfg` says; returns the run directory (model/ inside it). Raises FlanlabError on bad input.

    `mixture` replaces the one built from `cfg.mixture` (a `Mixture`, or anything with `.stream(start)`,
    e.g. `flanlab.testing.ListMixture` in tests and benchmarks). `evaluator` scores held-out tasks at checkpoints
    when `cfg.eval.every` is set (see `Evaluator`; `flanlab.evaluation.in_training.checkpoint_evaluator(cfg)`).
    """
    from .export import export_model

    s = setup(cfg, resume=resume, overwrite=overwrite, mixture=mixture, evaluator=evaluator)
    try:
        train_loop(s)
        export_model(s)
        s.accelerator.wait_for_everyone()
        if s.run is not None:
            s.run.finish(summary(s))
    except BaseException as e:
        if s.run is not None:
            s.run.stop(e)  # interrupted (Ctrl-C: continue with --resume) or failed
        raise
    finally:
        if cfg.trackers:
            s.accelerator.end_training()
    return s.path
