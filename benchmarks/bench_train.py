"""Training throughput: flanlab vs transformers' Trainer (no packing) vs TRL's SFTTrainer (packing), one run.

    python benchmarks/bench_train.py --model tiny --examples 512
    python benchmarks/bench_train.py --model smollm2-135m-instruct --examples 64 --eval-examples 32

The same model, the same examples (rendered FLAN prompts from the bundled samples, tokenized once by
flanlab's `features.tokenize`, so all three see identical token ids), one epoch each, AdamW at the same
constant learning rate, no clipping, loss on targets only, fp32. flanlab and TRL pack into 512-token rows,
4 rows per optimizer step; the unpacked Trainer takes as many examples per step as a packed step holds on
average (`--trainer-batch`; 0 = matched), so all three make about the same number of optimizer updates
and their final losses are comparable (with the Trainer at batch 4 it would make ~3x more updates).
Prints one JSON line: non-padding tokens/s of each, the ratios, each run's last logged loss, the
mean target loss of each trained model on the same examples (same evaluation code for all three), and
where flanlab's time goes (data, forward, backward, optimizer). TRL is a benchmark-only dependency
(`pip install trl`).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- inputs -----------------------------------------------------------------------------------------------

def load_examples(n: int, seed: int) -> list[tuple[str, str]]:
    from flanlab.mixtures.config import MixtureConfig
    from flanlab.mixtures.mixture import Mixture

    mix = Mixture(MixtureConfig(source="bundled", missing_data="skip", seed=seed))
    return [(ex.inputs, ex.targets) for ex in mix.take(n)]


def model_dir(name: str, tmp: Path) -> Path:
    if name == "tiny":
        from flanlab.testing import save_tiny_model

        return save_tiny_model(tmp / "tiny", "llama")
    from flanlab.models import resolve_path

    return Path(resolve_path(name).path)


class OnceMixture:
    """The benchmark's examples, each once, in order (a mixture stream that ends)."""

    def __init__(self, pairs):
        self.pairs = pairs

    def stream(self, start: int = 0):
        from flanlab.testing import TextExample

        for i in range(start, len(self.pairs)):
            yield TextExample(*self.pairs[i], position=i, task="bench")

    def rates(self):
        return {"bench": 1.0}


# -- the three trainers -----------------------------------------------------------------------------------

def mixture_config(pairs, args):
    from flanlab.mixtures.config import MixtureConfig

    return MixtureConfig(max_input_len=args.max_input_len, max_target_len=args.max_target_len, seq_len=args.seq_len,
                         pack_window=len(pairs))


def packed_steps(path: Path, pairs, args) -> int:
    """Optimizer steps flanlab takes over the examples: packed rows, `args.rows` rows' worth of tokens each."""
    from transformers import AutoTokenizer

    from flanlab.mixtures import stream
    from flanlab.training import data

    tok = AutoTokenizer.from_pretrained(path)
    rows = stream.rows(OnceMixture(pairs), tok, "decoder", cfg=mixture_config(pairs, args))
    return sum(1 for _ in data.step_batches(rows, args.rows * args.seq_len, "decoder"))


def run_flanlab(path: Path, pairs, args, out: Path, steps: int) -> dict:
    from flanlab.training.config import TrainConfig
    from flanlab.training.train import train

    mcfg = mixture_config(pairs, args)
    cfg = TrainConfig(model=str(path), out=str(out), device="cpu", steps=steps, seed=args.seed, attention=args.attention,
                      optim={"name": "adamw", "lr": args.lr}, checkpoint={"every": 0},
                      batch={"tokens": args.rows * args.seq_len, "micro_rows": args.rows},
                      mixture=mcfg.model_dump())
    run = train(cfg, mixture=OnceMixture(pairs))
    summary = json.loads((run / "run.json").read_text())["summary"]
    return {"seconds": summary["train_seconds"], "tokens": summary["tokens"], "steps": steps,
            "last_loss": summary["final_loss"], "model": run / "model",
            "time_split": summary["time_split"], "phase_seconds": summary["seconds"]}


def _hf_common(args, out: Path, rows: int | None = None) -> dict:
    return dict(output_dir=str(out), per_device_train_batch_size=rows or args.rows, num_train_epochs=1,
                learning_rate=args.lr, lr_scheduler_type="constant", optim="adamw_torch", weight_decay=0.0,
                max_grad_norm=0.0, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
                dataloader_num_workers=0, seed=args.seed, disable_tqdm=True)


def run_trainer(path: Path, feats, args, out: Path) -> dict:
    """transformers' Trainer, each example its own row, padded to the longest in the batch."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from flanlab.mixtures.features import IGNORE

    tok = AutoTokenizer.from_pretrained(path)
    tok.pad_token = tok.pad_token or tok.eos_token
    rows = [{"input_ids": f.input_ids, "attention_mask": [1] * len(f.input_ids),
             "labels": [IGNORE] * f.n_prompt + f.input_ids[f.n_prompt:]} for f in feats]
    model = AutoModelForCausalLM.from_pretrained(path, dtype="float32")
    trainer = Trainer(model=model, args=TrainingArguments(**_hf_common(args, out, args.trainer_batch)),
                      train_dataset=Dataset.from_list(rows),
                      data_collator=DataCollatorForSeq2Seq(tok, padding="longest", label_pad_token_id=IGNORE))
    return _timed_train(trainer, feats, out)


def _timed_train(trainer, feats, out: Path) -> dict:
    """Train a transformers/TRL trainer, timing only `train()`; save the model for the common yardstick."""
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    trainer.save_model(str(out / "model"))
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {"seconds": seconds, "tokens": sum(len(f.input_ids) for f in feats), "steps": trainer.state.global_step,
            "last_loss": losses[-1] if losses else None, "model": out / "model"}


def run_trl(path: Path, feats, args, out: Path) -> dict:
    """TRL's SFTTrainer with its default (bfd) packing into 512-token rows, completion-only loss."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(path)
    tok.pad_token = tok.pad_token or tok.eos_token
    rows = [{"input_ids": f.input_ids, "completion_mask": [0] * f.n_prompt + [1] * (len(f.input_ids) - f.n_prompt)}
            for f in feats]
    model = AutoModelForCausalLM.from_pretrained(path, dtype="float32")
    cfg = SFTConfig(**_hf_common(args, out), max_length=args.seq_len, packing=True, completion_only_loss=True,
                    bf16=False, fp16=False)
    trainer = SFTTrainer(model=model, args=cfg, train_dataset=Dataset.from_list(rows), processing_class=tok)
    return _timed_train(trainer, feats, out)


# -- the common yardstick ---------------------------------------------------------------------------------

def target_loss(path: Path, feats, rows: int = 4) -> float:
    """Mean loss over target tokens of the model at `path` on `feats` (unpacked, no gradient)."""
    import torch
    from transformers import AutoModelForCausalLM

    from flanlab.mixtures.packing import single_row
    from flanlab.training.data import collate
    from flanlab.training.modeling import LossModule

    model = AutoModelForCausalLM.from_pretrained(path, dtype="float32").eval()
    module = LossModule(model, "decoder", targets_only=True)
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(feats), rows):
            loss, k = module(**collate([single_row(f) for f in feats[i:i + rows]], "decoder", pad_id=0))
            total, n = total + float(loss), n + int(k)
    return total / n


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="tiny", help="tiny, an alias (smollm2-135m-instruct), a directory")
    p.add_argument("--examples", type=int, default=512)
    p.add_argument("--eval-examples", type=int, default=64, help="examples for the common final-loss check")
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument("--rows", type=int, default=4, help="rows (examples for the unpacked Trainer) per step")
    p.add_argument("--max-input-len", type=int, default=440)
    p.add_argument("--max-target-len", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--only", default="flanlab,trainer,trl")
    p.add_argument("--trainer-batch", type=int, default=0,
                   help="examples per step of the unpacked Trainer; 0: as many as one flanlab step holds on "
                        "average (same number of optimizer updates, so final losses are comparable)")
    p.add_argument("--attention", default="auto", help="flanlab's packed attention: auto, segments, mask")
    args = p.parse_args(argv)
    # Trainer, TRL and progress bars write to stdout, some below Python: send fd 1 to stderr meanwhile,
    # so that stdout carries exactly the one JSON line.
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            line = run_all(args)
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    print(json.dumps(line, default=str), flush=True)
    return line


def run_all(args) -> dict:
    import torch

    from flanlab.mixtures.features import tokenize

    if args.threads:
        torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="bench-train-"))
    path = model_dir(args.model, tmp)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    pairs = load_examples(args.examples, args.seed)
    feats = tokenize(pairs, tok, kind="decoder", max_input_len=args.max_input_len, max_target_len=args.max_target_len)
    eval_feats = feats[:args.eval_examples]
    steps = packed_steps(path, pairs, args)
    args.trainer_batch = args.trainer_batch or max(1, round(len(pairs) / steps))
    runners = {"flanlab": lambda o: run_flanlab(path, pairs, args, o, steps), "trainer": lambda o: run_trainer(path, feats, args, o),
               "trl": lambda o: run_trl(path, feats, args, o)}
    results = {}
    for name in args.only.split(","):
        log(f"[bench_train] {name} ...")
        r = runners[name](tmp / name)
        r["tokens_per_s"] = round(r["tokens"] / r["seconds"], 2)
        r["eval_loss"] = round(target_loss(r.pop("model"), eval_feats), 5)
        results[name] = r
        log(f"[bench_train] {name}: {r['tokens_per_s']} tokens/s, eval loss {r['eval_loss']}")
        gc.collect()
    base = results.get("flanlab", {}).get("tokens_per_s")
    line = {"bench": "train", "model": args.model, "examples": len(pairs), "seq_len": args.seq_len,
            "rows_per_step": args.rows, "threads": torch.get_num_threads(),
            "tokens": sum(len(f.input_ids) for f in feats), "target_tokens": sum(len(f.input_ids) - f.n_prompt for f in feats),
            "packed_steps": steps, "trainer_batch": args.trainer_batch,
            "padding_efficiency_unpacked": _padding_efficiency(feats, args.trainer_batch),
            "padding_efficiency_unpacked_batch4": _padding_efficiency(feats, 4),
            "initial_eval_loss": round(target_loss(path, eval_feats), 5),
            "results": results,
            "ratios": {f"flanlab_vs_{k}": round(base / v["tokens_per_s"], 3) for k, v in results.items()
                       if k != "flanlab" and base}}
    return line


def _padding_efficiency(feats, rows: int) -> float:
    """Real tokens / padded slots when examples are batched in order and padded to the longest (Trainer)."""
    real = slots = 0
    for i in range(0, len(feats), rows):
        lens = [len(f.input_ids) for f in feats[i:i + rows]]
        real, slots = real + sum(lens), slots + max(lens) * len(lens)
    return round(real / slots, 4)


if __name__ == "__main__":
    main()
