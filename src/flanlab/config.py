"""Typed configuration: pydantic models <- YAML files <- `key.sub=value` overrides <- CLI options.

    cfg = load_config(TrainConfig, "configs/train/smoke.yaml", overrides=["optim.lr=1e-4"], cli={"steps": 10})

Unknown keys are errors naming the key and the file. The resolved config is saved next to every output
(`RunDir.save_config`) so that a run can be reproduced exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import FlanlabError

C = TypeVar("C", bound=BaseModel)


class Config(BaseModel):
    """Base of every flanlab config: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FlanlabError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise FlanlabError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        raise FlanlabError(f"{path}: the top level must be a mapping of keys to values")
    return data


def _set_dotted(d: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
        if not isinstance(d, dict):
            raise FlanlabError(f"override {dotted!r}: {k!r} is not a section")
    d[keys[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """Apply `key.sub=value` strings; values are parsed as YAML scalars (`3e-5`, `true`, `[a, b]`)."""
    for item in overrides or []:
        if "=" not in item:
            raise FlanlabError(f"override {item!r} must look like key.sub=value")
        key, raw = item.split("=", 1)
        _set_dotted(data, key.strip(), yaml.safe_load(raw) if raw.strip() else None)
    return data


def format_validation_error(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            lines.append(f"unknown key {loc!r}")
        else:
            lines.append(f"{loc}: {e['msg']}")
    return f"{source}: invalid config: " + "; ".join(lines)


COMMAND_SECTIONS = ("train", "eval")


def file_section(data: dict[str, Any], section: str | None, path: str | Path,
                 fields: Iterable[str] = ()) -> dict[str, Any]:
    """The mapping a command reads from a config file.

    A file either holds the command's keys at its top level, or only command sections (`train:`, `eval:`),
    of which the command reads its own. Anything else at the top level of a sectioned file would be read by
    no command: an error naming the key (not a silent no-op). A file whose keys are all the command's own
    `fields` is a top-level file even where a field shares a section's name (a train run's config.yaml has
    an `eval:` mapping: the held-out scoring during training).
    """
    if not section or not any(k in COMMAND_SECTIONS for k in data):
        return data
    if fields and set(data) <= set(fields) and section not in data:
        return data
    stray = [k for k in data if k not in COMMAND_SECTIONS]
    if stray:
        raise FlanlabError(f"{path}: key {stray[0]!r} is read by no command: a config file holds either the "
                           f"command's settings at the top level or only the sections {', '.join(COMMAND_SECTIONS)}")
    if section not in data:
        raise FlanlabError(f"{path}: no {section!r} section (it has {', '.join(data)}); a sectioned config file "
                           f"needs one for `flanlab {section}`")
    sub = data[section] or {}
    if not isinstance(sub, dict):
        raise FlanlabError(f"{path}: section {section!r} must be a mapping of keys to values")
    return sub


def load_config(
    model: type[C],
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    cli: dict[str, Any] | None = None,
    section: str | None = None,
) -> C:
    """Build `model` from a YAML file, then dotted overrides, then CLI options that were given (not None).

    One rule for every command's `--config` file (`file_section`): its top level holds the command's keys,
    or it holds only command sections (`train:`, `eval:`) and the command reads its own (`section`).
    """
    data: dict[str, Any] = {}
    source = str(path) if path else "command line"
    if path:
        data = file_section(read_yaml(path), section, path, model.model_fields)
    apply_overrides(data, overrides)
    for key, value in (cli or {}).items():
        if value is not None:
            _set_dotted(data, key, value)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise FlanlabError(format_validation_error(e, source)) from None


def dump_config(cfg: BaseModel) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
