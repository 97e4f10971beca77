"""Sweep the demo's recipe (learning rate, steps, tuning tasks) on the real mirror; one JSON line per setting.

    python benchmarks/demo_sweep.py --data-dir ../shared/data/hf --out runs/demo-sweep \
        --setting full:3e-5:24 --setting full:1e-4:24 --setting quick:1e-4:8

A setting is BUDGET:LR:STEPS[:TASKS] (TASKS: comma-separated tuning tasks of demo.MIRROR_TRAIN_SPLITS).
Each runs the demo experiment (flanlab.experiments.demo) in its own directory; the untuned model's cells
come from the evaluation cell cache after the first setting, so later settings cost tuning + tuned evals.
Printed per setting: held-in / held-out means of the three models with n, the paired comparison of tuned
vs untuned (instructions) with its 95% interval, the tuned model's constant cells, and wall time per step
kind together with the load average at start and end (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", default="runs/demo-sweep")
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--setting", action="append", required=True)
    ap.add_argument("--held-in-limit", type=int, default=None)
    ap.add_argument("--held-out-limit", type=int, default=None)
    ap.add_argument("--templates", default=None, help="only these template ids (comma-separated), to save time")
    ap.add_argument("--log", default=None, help="JSONL file the rows are appended to (default: OUT/sweep.jsonl)")
    args = ap.parse_args()

    from flanlab.experiments.demo import demo_config, run_demo

    out = Path(args.out)
    log = Path(args.log or out / "sweep.jsonl")
    out.mkdir(parents=True, exist_ok=True)
    for s in args.setting:
        budget, lr, steps, *rest = s.split(":")
        tasks = rest[0].split(",") if rest and rest[0] else None
        name = f"{budget}-lr{lr}-s{steps}" + (f"-{len(tasks)}tasks" if tasks else "")
        cfg, info = demo_config(quick=budget == "quick", model=args.model, out=out / name, data_dir=args.data_dir,
                                steps=int(steps), lr=float(lr), train_tasks=tasks,
                                held_in_limit=args.held_in_limit, held_out_limit=args.held_out_limit)
        if args.templates:
            ids = args.templates.split(",")
            cfg = cfg.model_copy(update={"eval": {**cfg.eval, "templates": ids}})
            name += f"-t{len(ids)}"
            cfg = cfg.model_copy(update={"name": name})
        load0, t0 = os.getloadavg(), time.time()
        res = run_demo(cfg)
        wall = time.time() - t0
        walls: dict[str, float] = {}
        for st in res["steps"]:
            if st.get("wall_seconds") is not None and st["id"] in res["executed"]:
                walls[st["kind"]] = walls.get(st["kind"], 0.0) + st["wall_seconds"]
        row = {"setting": s, "name": name, **info, "wall_seconds": round(wall, 1),
               "step_seconds": {k: round(v, 1) for k, v in walls.items()},
               "load_start": [round(x, 2) for x in load0], "load_end": [round(x, 2) for x in os.getloadavg()],
               "sets": res["sets"]}
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(summary_line(row), flush=True)


def summary_line(row: dict) -> str:
    parts = [f"{row['name']}: lr {row['lr']} steps {row['steps']} wall {row['wall_seconds']}s "
             f"{row['step_seconds']} load {row['load_start'][0]}->{row['load_end'][0]}"]
    for which, st in row["sets"].items():
        means = " / ".join(f"{v} {100 * m:.1f}" for v, m in st["mean"].items() if m is not None)
        cmp_ = st.get("tuned_vs_untuned_instructions") or {}
        ci = cmp_.get("ci95") or [float("nan")] * 2
        ns = {r["task"]: r["tuned"]["n"] for r in st["tasks"] if "tuned" in r}
        parts.append(f"  {which} (n {ns}): {means}; tuned-untuned {100 * cmp_.get('diff', float('nan')):+.1f} "
                     f"[{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}] p={cmp_.get('p')}; "
                     f"tuned constant cells {st['constant_cells'].get('tuned')}")
        for r in st["tasks"]:
            parts.append("    " + r["task"] + ": " + ", ".join(
                f"{v} {100 * r[v]['mean']:.1f}±{100 * r[v]['std']:.1f}" for v in ("tuned", "untuned-instructions",
                                                                               "untuned-baseline")
                if v in r and r[v]["mean"] is not None))
    return "\n".join(parts)


if __name__ == "__main__":
    main()
