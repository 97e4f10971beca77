"""Does the model's own chat template change an untuned chat model's zero-shot scores? (issue 12 item 4)

    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 python benchmarks/bench_chat_template.py \
        --data-dir ../shared/data/hf --tasks rte,cb,sst2,boolq,copa,piqa --templates 01,02 --limit 50

Runs `flanlab eval MODEL` twice through the CLI, as a user would (`--no-chat-template`, then
`--chat-template`; the same tasks, templates and examples, by default a seeded random sample of each split;
no best-dev selection), then compares the two runs' results.json per task on the same examples with the
evaluation stage's paired test (`flanlab.evaluation.stats.compare_task`: McNemar for one template, else a
paired bootstrap over examples) and over all tasks (`compare_group`). Prints one JSON line: per task the mean over templates with its 95%
interval, n and constant cells for each setting, the paired difference (chat - plain) with its interval and
p-value, and the wall time of each run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def run_eval(args: argparse.Namespace, chat: bool, out: Path) -> tuple[dict, float]:
    cmd = [sys.executable, "-m", "flanlab", "eval", args.model, "--tasks", args.tasks, "--templates",
           args.templates, "--limit", str(args.limit), "--sample", args.sample, "--no-best-dev", "--source", "mirror", "--data-dir",
           str(args.data_dir), "--chat-template" if chat else "--no-chat-template", "--out", str(out),
           "--overwrite", "--json"]
    t0 = time.time()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    wall = time.time() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}")
    return json.loads((out / "results.json").read_text()), wall


def cell(results: dict, name: str) -> dict:
    from flanlab.evaluation.stats import constant_cells

    task = results["tasks"][name]
    return {"mean": task["mean"], "std": task.get("std"), "ci95": task.get("ci95"), "n": task.get("n"),
            "templates": len(task["templates"]), "constant": [tid for t, tid in constant_cells(results) if t == name]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data/hf"))
    ap.add_argument("--tasks", default="rte,cb,sst2,boolq,copa,piqa")
    ap.add_argument("--templates", default="01,02")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--sample", default="random", help="which --limit examples: random (seeded) or first")
    ap.add_argument("--out", type=Path, default=Path("runs/bench-chat-template"))
    args = ap.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"--data-dir {args.data_dir}: not a directory (the Hub-layout mirror)")

    from flanlab.evaluation import stats

    plain, plain_s = run_eval(args, False, args.out / "plain")
    chat, chat_s = run_eval(args, True, args.out / "chat")
    assert chat.get("chat_template") is True and not plain.get("chat_template"), "chat_template not recorded"
    tasks = [t for t in args.tasks.split(",") if t in plain["tasks"] and t in chat["tasks"]]
    rows = {}
    for t in tasks:
        cmp = stats.compare_task(plain["tasks"][t], chat["tasks"][t], t)
        rows[t] = {"plain": cell(plain, t), "chat": cell(chat, t),
                   "chat_minus_plain": {k: cmp[k] for k in ("diff", "ci95", "p", "n", "test")} if cmp else None}
    group = stats.compare_group(plain, chat, tasks, "all")
    print(json.dumps({"bench": "chat_template", "model": args.model, "templates": args.templates.split(","),
                      "limit": args.limit, "sample": args.sample, "tasks": rows,
                      "mean": {"plain": sum(r["plain"]["mean"] for r in rows.values()) / len(rows),
                               "chat": sum(r["chat"]["mean"] for r in rows.values()) / len(rows),
                               "chat_minus_plain": {k: group[k] for k in ("diff", "ci95", "p", "n")} if group else None},
                      "wall_seconds": {"plain": round(plain_s, 1), "chat": round(chat_s, 1)}}))


if __name__ == "__main__":
    main()
