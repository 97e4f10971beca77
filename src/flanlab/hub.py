"""Publishing a trained model on the Hugging Face Hub: `flanlab models push RUN_DIR REPO_ID`.

    push("runs/flan-nli", "me/flan-nli", results=["runs/eval-nli"], dry_run="runs/flan-nli-upload")
    push("runs/flan-nli", "me/flan-nli", results=["runs/eval-nli"])     # create_repo + upload_folder

What goes up is the run's `model/` (or `adapter/` with `adapter=True`; a prompt-tuning run has only
`adapter/`), every file but hidden ones, with README.md rewritten from the card training wrote: `base_model`
when given, and, when results exist, the evaluation as model-index metadata (huggingface_hub `EvalResult`)
and as tables (per task: mean ± std over templates, best-dev template; per cluster), from results.json files
and from the held-out curve of `--eval-every` (its last point). The resolved training config travels as
`flanlab/config.yaml`, each results file as `flanlab/results/<name>.json`.

The upload is staged first: a dry run writes the staged folder where asked and stops, a real push uploads
that same folder (upload_folder), so the dry run shows exactly what would be uploaded. Reads run
directories only (no stage is imported).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .errors import FlanlabError

EVAL_HEADING = "## Evaluation"


# -- what is uploaded -------------------------------------------------------------------------------------

def pick_folder(run_dir: Path, adapter: bool = False) -> tuple[Path, Path | None, bool]:
    """(folder to upload, run directory or None, is an adapter) for a run directory or a model/adapter dir."""
    if not run_dir.is_dir():
        raise FlanlabError(f"{run_dir}: not a directory (pass a `flanlab train` run directory)")
    if (run_dir / "adapter_config.json").is_file():
        return run_dir, _run_of(run_dir), True
    if (run_dir / "config.json").is_file():
        if adapter:
            raise FlanlabError(f"{run_dir} is a model directory, not an adapter: drop --adapter")
        return run_dir, _run_of(run_dir), False
    model, adap = run_dir / "model", run_dir / "adapter"
    if adapter or (not (model / "config.json").is_file() and (adap / "adapter_config.json").is_file()):
        if not (adap / "adapter_config.json").is_file():
            raise FlanlabError(f"{run_dir}: no adapter/ (only LoRA and prompt-tuning runs have one)")
        return adap, run_dir, True
    if not (model / "config.json").is_file():
        raise FlanlabError(f"{run_dir}: no model/ or adapter/ with weights; is the training finished? "
                           f"(see {run_dir / 'run.json'})")
    return model, run_dir, False


def _run_of(folder: Path) -> Path | None:
    parent = folder.resolve().parent
    return parent if (parent / "run.json").is_file() else None


def read_results(paths: list[str | Path]) -> list[tuple[str, dict[str, Any]]]:
    """(name, results.json content) for each results.json file or evaluation run directory."""
    out = []
    for p in map(Path, paths):
        f = p / "results.json" if p.is_dir() else p
        if not f.is_file():
            raise FlanlabError(f"--results {p}: no results.json there (pass an evaluation run directory)")
        try:
            res = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise FlanlabError(f"--results {f}: cannot read it: {e}") from None
        if not str(res.get("schema", "")).startswith("flanlab.eval/"):
            raise FlanlabError(f"--results {f}: not a flanlab evaluation (schema {res.get('schema')!r})")
        out.append((f.parent.name if f.name == "results.json" else f.stem, res))
    return out


def curve_point(run_dir: Path | None) -> dict[str, Any] | None:
    """The last eval row of the run's metrics.jsonl (`--eval-every`), if any."""
    if run_dir is None or not (run_dir / "metrics.jsonl").is_file():
        return None
    last = None
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            if isinstance(row.get("eval"), dict):
                last = row
    return last


# -- the card ---------------------------------------------------------------------------------------------

def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def eval_section(results: list[tuple[str, dict]], curve: dict | None) -> str:
    """The card's Evaluation section: one table of tasks and one of clusters per results file."""
    lines = [EVAL_HEADING, ""]
    for name, res in results:
        lines += [f"### {name}: {res.get('mode', 'natural')}, {res.get('shots', 0)}-shot"
                  + (f", at most {res['limit']} examples per task" if res.get("limit") else ""), "",
                  "Scores in %: mean ± standard deviation over the task's templates, and the test score of the "
                  "template with the best dev score (the paper's protocol).", "",
                  "| cluster | task | metric | mean ± std | best-dev template | n |", "|---|---|---|---|---|---|"]
        for task, t in sorted(res.get("tasks", {}).items(), key=lambda kv: (kv[1].get("cluster", ""), kv[0])):
            ns = [e.get("n") for roles in t.get("templates", {}).values() for r, e in roles.items()
                  if r == t.get("scored_role", "test") and e.get("n") is not None]
            std = t.get("std") or 0.0
            lines.append(f"| {t.get('cluster', '')} | {task} | {t.get('metric', '')} | "
                         f"{_pct(t.get('mean'))} ± {_pct(std) if t.get('mean') is not None else '–'} | "
                         f"{_pct(t.get('best_dev'))} | {max(ns) if ns else '–'} |")
        clusters = res.get("clusters", {})
        if clusters:
            lines += ["", "| cluster | mean over tasks | best-dev | tasks |", "|---|---|---|---|"]
            lines += [f"| {c} | {_pct(v.get('mean'))} | {_pct(v.get('best_dev'))} | {', '.join(v.get('tasks', []))} |"
                      for c, v in clusters.items()]
        lines.append("")
    if curve is not None:
        ev = curve["eval"]
        lines += [f"### Held-out tasks during training (step {curve['step']})", "",
                  "Rank classification on a fixed subset (the first templates and test examples of each task), "
                  "as logged by `flanlab train --eval-every`; %.", "", "| task | score | templates | n |",
                  "|---|---|---|---|"]
        lines += [f"| {t} | {_pct(v)} | {', '.join(ev.get('templates', {}).get(t, []))} | {ev.get('n', {}).get(t, '–')} |"
                  for t, v in ev.get("tasks", {}).items()]
        lines.append("")
    return "\n".join(lines)


def eval_results(results: list[tuple[str, dict]], model_name: str) -> list[Any]:
    """Model-index entries (huggingface_hub EvalResult): one per task and results file, its primary metric."""
    from huggingface_hub import EvalResult

    out = []
    for name, res in results:
        for task, t in res.get("tasks", {}).items():
            if t.get("mean") is None:
                continue
            out.append(EvalResult(task_type="text-generation", dataset_type=task,
                                  dataset_name=f"{task} ({t.get('cluster', '')}; {name})", metric_type=t.get("metric"),
                                  metric_value=round(float(t["mean"]), 4),
                                  dataset_split=(t.get("split_roles") or {}).get(t.get("scored_role", "test")),
                                  metric_name=f"{t.get('metric')} (mean over templates, {res.get('shots', 0)}-shot)",
                                  source_name="flanlab", source_url="https://arxiv.org/abs/2109.01652"))
    return out


def use_section(repo_id: str, adapter: bool, seq2seq: bool) -> str:
    auto = "Seq2SeqLM" if seq2seq else "CausalLM"
    code = ([f"from peft import AutoPeftModelFor{auto}", f'model = AutoPeftModelFor{auto}.from_pretrained("{repo_id}")']
            if adapter else [f"from transformers import AutoModelFor{auto}, AutoTokenizer",
                             f'model = AutoModelFor{auto}.from_pretrained("{repo_id}")',
                             f'tok = AutoTokenizer.from_pretrained("{repo_id}")'])
    return "\n".join(["## Use", "```python", *code, "```", "",
                      "The resolved flanlab training configuration is `flanlab/config.yaml` in this repository"
                      " (`flanlab train -c flanlab/config.yaml` reruns it); evaluation results, if any, are in "
                      "`flanlab/results/`.", ""])


def build_card(folder: Path, results: list[tuple[str, dict]], curve: dict | None, *, adapter: bool,
               base_model: str | None, model_name: str, repo_id: str = "") -> str:
    """The README.md to upload: training's card with the metadata and evaluation added (replaced if present)."""
    from huggingface_hub import ModelCard, ModelCardData

    readme = folder / "README.md"
    card = ModelCard(readme.read_text()) if readme.is_file() else ModelCard(f"---\n---\n\n# {model_name}\n")
    if not isinstance(card.data, ModelCardData):
        card.data = ModelCardData(**card.data.to_dict())
    data = card.data
    if adapter:
        data.library_name = "peft"
    elif not data.library_name:
        data.library_name = "transformers"
    if base_model:
        data.base_model = base_model
    if adapter and not data.base_model:
        cfg = json.loads((folder / "adapter_config.json").read_text())
        base = str(cfg.get("base_model_name_or_path") or "")
        parts = base.split("/")
        data.base_model = base if len(parts) == 2 and all(parts) and not Path(base).exists() else None
    tags = list(data.tags or [])
    data.tags = tags + [t for t in ("flanlab",) if t not in tags]
    entries = eval_results(results, model_name)
    if entries:
        data.model_name = model_name
        data.eval_results = entries
    text = card.text
    if EVAL_HEADING in text:  # a card pushed before: its evaluation is replaced, not repeated
        head, _, rest = text.partition(EVAL_HEADING)
        nxt = rest.find("\n## ")
        text = head + (rest[nxt + 1:] if nxt >= 0 else "")
    if "\n## Use" in text:  # training's card loads from the local run directory; on the Hub, from the repo
        text = text[:text.index("\n## Use")]
    if results or curve is not None:
        text = text.rstrip() + "\n\n" + eval_section(results, curve)
    text = text.rstrip() + "\n\n" + use_section(repo_id, adapter, data.pipeline_tag == "text2text-generation")
    return f"---\n{data.to_yaml()}\n---\n{text if text.startswith(chr(10)) else chr(10) + text}"


# -- staging and upload -----------------------------------------------------------------------------------

def _validate_repo_id(repo_id: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as e:
        raise FlanlabError(f"repo id {repo_id!r}: {e}") from None
    if "/" not in repo_id:
        raise FlanlabError(f"repo id {repo_id!r}: give it as <user or organisation>/<name>")


def stage(run_dir: Path, dest: Path, *, adapter: bool = False, results: list[str | Path] = (),
          base_model: str | None = None, repo_id: str = "") -> list[str]:
    """Write into `dest` (a new directory) exactly what is uploaded; returns the paths in the repository."""
    folder, run, is_adapter = pick_folder(run_dir, adapter)
    res = read_results(list(results))
    if run is not None and (run / "results.json").is_file():
        res = read_results([run]) + res
    card = build_card(folder, res, curve_point(run), adapter=is_adapter, base_model=base_model,
                      model_name=repo_id.split("/")[-1] or folder.name, repo_id=repo_id or folder.name)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        for src in sorted(folder.rglob("*")):
            rel = src.relative_to(folder)
            if src.is_file() and not any(part.startswith(".") for part in rel.parts) and rel.as_posix() != "README.md":
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(src, tmp / rel)
        (tmp / "README.md").write_text(card)
        if run is not None and (run / "config.yaml").is_file():
            (tmp / "flanlab").mkdir()
            shutil.copyfile(run / "config.yaml", tmp / "flanlab" / "config.yaml")
        for name, r in res:
            (tmp / "flanlab" / "results").mkdir(parents=True, exist_ok=True)
            (tmp / "flanlab" / "results" / f"{name}.json").write_text(json.dumps(r, indent=1) + "\n")
        os.replace(tmp, dest)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise FlanlabError(f"could not stage the upload in {dest}: {e.strerror or e}") from None
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)  # same file system: no copy of the weights
    except OSError:
        shutil.copy2(src, dst)


def push(run_dir: str | Path, repo_id: str, *, adapter: bool = False, results: list[str | Path] = (),
         base_model: str | None = None, dry_run: str | Path | None = None, private: bool = False,
         revision: str | None = None, commit_message: str | None = None, token: str | None = None) -> dict:
    """Stage the upload; with `dry_run` keep it there and stop, else create the repo and upload it."""
    run_dir = Path(run_dir)
    _validate_repo_id(repo_id)
    if dry_run is not None:
        dest = Path(dry_run)
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise FlanlabError(f"--dry-run {dest}: exists and is not empty (choose a new directory)")
        if dest.is_dir():
            dest.rmdir()
        files = stage(run_dir, dest, adapter=adapter, results=results, base_model=base_model, repo_id=repo_id)
        return {"repo_id": repo_id, "dry_run": str(dest), "files": files, "url": None}
    from huggingface_hub import HfApi

    with tempfile.TemporaryDirectory(dir=run_dir if run_dir.is_dir() else None, prefix=".push-") as tmp:
        dest = Path(tmp) / "upload"
        files = stage(run_dir, dest, adapter=adapter, results=results, base_model=base_model, repo_id=repo_id)
        api = HfApi(token=token)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            info = api.upload_folder(repo_id=repo_id, folder_path=str(dest), repo_type="model", revision=revision,
                                     commit_message=commit_message or f"flanlab: {run_dir.name}")
        except Exception as e:  # offline mode, no token, no permission, network: one line, nothing half done here
            raise FlanlabError(f"push to {repo_id} failed: {type(e).__name__}: {e} (try --dry-run DIR to see what "
                               "would be uploaded; log in with `hf auth login` or set HF_TOKEN)") from None
    return {"repo_id": repo_id, "dry_run": None, "files": files, "url": str(getattr(info, "commit_url", info))}
