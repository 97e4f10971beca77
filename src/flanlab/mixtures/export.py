"""Export the rendered mixture for other trainers: TRL, torchtune, or plain JSONL (and a Hugging Face dataset).

    from flanlab.mixtures.config import MixtureConfig
    from flanlab.mixtures.export import export_mixture
    summary = export_mixture(MixtureConfig(holdout=["nli"]), "runs/mix-nli", n=10_000,
                             formats=["trl-prompt-completion", "trl-messages", "torchtune", "jsonl"])

`flanlab mixture export --out DIR --format F [--format G ...]` calls this. One pass over the mixture stream
(positions 0..n-1, the examples `flanlab train` would render, in the same order) writes every format asked
for into the run directory DIR (run.json, config.yaml, plan.json):

| format                  | file                         | columns (one JSON object per line)                       |
|-------------------------|------------------------------|----------------------------------------------------------|
| `jsonl`                 | mixture.jsonl (+ dataset/)   | inputs, targets, task, cluster, template_id, example_id, |
|                         |                              | position, shots; dataset/ = `datasets.load_from_disk`     |
| `trl-prompt-completion` | trl-prompt-completion.jsonl  | prompt, completion (TRL's standard prompt-completion     |
|                         |                              | type: SFTTrainer trains on the completion only) + meta   |
| `trl-messages`          | trl-messages.jsonl           | messages: [user: inputs, assistant: targets] (TRL's      |
|                         |                              | conversational language-modeling type; the chat template |
|                         |                              | of the trained model joins the turns) + meta             |
| `torchtune`             | torchtune.jsonl,             | input, output (what `torchtune.datasets.instruct_dataset` |
|                         | torchtune.yaml               | reads by default) + meta; torchtune.yaml is the `dataset:` |
|                         |                              | section of a torchtune recipe config pointing at the file |

meta = task, cluster, template_id (trainers ignore extra columns). In the standard prompt-completion format
the prompt ends with `separator` (default "\\n"), since the completion is appended to it as text; flanlab's
own training joins them with the tokenizer's EOS instead, which a tokenizer-agnostic file cannot name.
Texts are exported whole: each trainer applies its own maximum length (flanlab's over-long policy is a
tokenizer-level step of the data path, `features.tokenize`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import FlanlabError

FORMATS = ("jsonl", "trl-prompt-completion", "trl-messages", "torchtune")
FILES = {"jsonl": "mixture.jsonl", "trl-prompt-completion": "trl-prompt-completion.jsonl",
         "trl-messages": "trl-messages.jsonl", "torchtune": "torchtune.jsonl"}


def record(x) -> dict[str, Any]:
    """One `jsonl` row: what any trainer needs, plus where it came from."""
    return {"inputs": x.inputs, "targets": x.targets, "task": x.task, "cluster": x.cluster,
            "template_id": x.template_id, "example_id": x.example_id, "position": x.position, "shots": x.shots}


def convert(fmt: str, x, separator: str = "\n") -> dict[str, Any]:
    """The row of `fmt` for one mixture example."""
    meta = {"task": x.task, "cluster": x.cluster, "template_id": x.template_id}
    if fmt == "jsonl":
        return record(x)
    if fmt == "trl-prompt-completion":
        return {"prompt": x.inputs + separator, "completion": x.targets, **meta}
    if fmt == "trl-messages":
        return {"messages": [{"role": "user", "content": x.inputs}, {"role": "assistant", "content": x.targets}],
                **meta}
    if fmt == "torchtune":
        return {"input": x.inputs, "output": x.targets, **meta}
    raise FlanlabError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")


def check_formats(formats) -> list[str]:
    from ..errors import UnknownNameError

    out = []
    for f in formats or ["jsonl"]:
        if f not in FORMATS:
            raise UnknownNameError("export format", f, FORMATS)
        if f not in out:
            out.append(f)
    return out


def torchtune_config(path: Path) -> str:
    """The `dataset:` section of a torchtune recipe config that reads `path` (instruct_dataset's defaults:
    columns input/output, prompt masked from the loss)."""
    import yaml

    return yaml.safe_dump({"dataset": {"_component_": "torchtune.datasets.instruct_dataset", "source": "json",
                                       "data_files": str(path.resolve()), "split": "train",
                                       "train_on_input": False, "packed": False}}, sort_keys=False)


def export_mixture(cfg, out: str | Path, *, formats=("jsonl",), n: int | None = None, hf: bool = True,
                   separator: str = "\n", overwrite: bool = False, mixture=None) -> dict[str, Any]:
    """Write the first `n` stream positions of the mixture (default: one pass over the capped pools) in every
    format of `formats` into the run directory `out`; returns the run summary (also in run.json).

    `mixture`: an already built `Mixture` of `cfg` (default: built here from the catalogue).
    """
    from ..runs import RunDir
    from .mixture import Mixture

    formats = check_formats(formats)
    mix = mixture if mixture is not None else Mixture(cfg)
    rates = mix.rates()  # an empty or broken mixture fails here, before any run directory exists
    n = n if n is not None else sum(r["n"] for r in rates.values())
    run = RunDir.create(out, "mixture export", cfg, overwrite=overwrite)
    try:
        run.write_json("plan.json", {"tasks": mix.plan(), "evaluate": mix.split.evaluate})
        paths = {f: run.path / FILES[f] for f in formats}
        written = _write(mix.stream(0, n), paths, separator)
        files = {f: str(p) for f, p in paths.items()}
        if "torchtune" in formats:
            (run.path / "torchtune.yaml").write_text(torchtune_config(paths["torchtune"]))
            files["torchtune-config"] = str(run.path / "torchtune.yaml")
        if hf and "jsonl" in formats:
            save_hf(paths["jsonl"], run.path / "dataset")
            files["dataset"] = str(run.path / "dataset")
    except BaseException as e:
        run.fail(f"{type(e).__name__}: {e}")
        raise
    produced = mix.stats.produced
    shares = {t: {"planned": round(r["share"], 5), "produced": round(produced.get(t, 0) / max(written, 1), 5)}
              for t, r in rates.items()}  # the proportions this export actually has, next to the plan's
    summary = {"examples": written, "positions": n, "formats": formats, "files": files,
               "path": files.get("jsonl") or next(iter(files.values())), "stats": mix.stats.as_dict(),
               "shares": shares, "dataset": files.get("dataset"), "skipped_tasks": mix.skipped_tasks}
    run.finish(summary)
    return summary


def _write(examples, paths: dict[str, Path], separator: str) -> int:
    handles = {f: open(p, "w", encoding="utf-8") for f, p in paths.items()}
    count = 0
    try:
        for x in examples:
            for f, h in handles.items():
                h.write(json.dumps(convert(f, x, separator), ensure_ascii=False) + "\n")
            count += 1
    finally:
        for h in handles.values():
            h.close()
    return count


def save_hf(jsonl: Path, out: Path) -> None:
    """mixture.jsonl -> datasets.save_to_disk, streamed through Arrow (not held in memory)."""
    import shutil
    import tempfile

    import datasets

    features = datasets.Features({k: datasets.Value(v) for k, v in (
        ("inputs", "string"), ("targets", "string"), ("task", "string"), ("cluster", "string"),
        ("template_id", "string"), ("example_id", "string"), ("position", "int64"), ("shots", "int32"))})
    datasets.disable_progress_bars()  # stderr stays readable; the run record says what was written
    tmp = tempfile.mkdtemp(prefix="flanlab-export-")
    try:
        ds = datasets.Dataset.from_json(str(jsonl), features=features, cache_dir=tmp)
        ds.save_to_disk(str(out))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
