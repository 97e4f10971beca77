"""Instruction templates: plain text with `{field}` placeholders, never executable code.

A template set is one YAML file (`templates/<set>.yaml`) shared by the tasks that name it:

    name: rte
    version: 1
    plain: "{premise}\\n{hypothesis}"            # the "no template" / "dataset name" ablations
    baseline: "{premise}\\nquestion: {hypothesis} yes or no?\\nanswer:"   # GPT-3-style continuation
    templates:
      - id: "01"
        input: "{premise}\\n\\nDoes the premise mean that \\"{hypothesis}\\" is true?"
      - id: "09"
        turned: true                            # turns the task around: training only
        when: {label: 0}                        # only rows whose field equals the value
        input: "Write a sentence that follows from: {premise}"
        target: "{hypothesis}"

`{answer}` is the gold answer (the option text of the label, or the target); `{{` and `}}` are literal
braces. Classification templates get the OPTIONS suffix unless they place `{options}` themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import FlanlabError

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TemplateError(FlanlabError):
    pass


@dataclass(frozen=True)
class Template:
    id: str
    input: str
    target: str = "{answer}"
    turned: bool = False
    when: tuple[tuple[str, Any], ...] = ()

    def placeholders(self) -> set[str]:
        return placeholders(self.input) | placeholders(self.target)

    def applies_to(self, example: dict[str, Any]) -> bool:
        return all(example.get(k) == v for k, v in self.when)


@dataclass(frozen=True)
class TemplateSet:
    name: str
    version: int
    templates: tuple[Template, ...]
    plain: str
    baseline: str
    baseline_options: tuple[str, ...] | None = None  # continuation text per label, if not the options
    path: str = ""
    by_id: dict[str, Template] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {t.id: t for t in self.templates})

    @property
    def forward(self) -> tuple[Template, ...]:
        """Templates scored at evaluation (not turned around)."""
        return tuple(t for t in self.templates if not t.turned)

    def get(self, template_id: str) -> Template:
        from ..errors import UnknownNameError

        if template_id not in self.by_id:
            raise UnknownNameError(f"template of {self.name!r}", template_id, self.by_id)
        return self.by_id[template_id]


def placeholders(text: str) -> set[str]:
    check_braces(text, where="")
    return set(_PLACEHOLDER.findall(text.replace("{{", "").replace("}}", "")))


def check_braces(text: str, where: str) -> None:
    """Every `{` opens a `{name}` placeholder or is doubled; anything else is an error."""
    stripped = _PLACEHOLDER.sub("", text.replace("{{", "").replace("}}", ""))
    if "{" in stripped or "}" in stripped:
        raise TemplateError(f"{where}unbalanced or malformed braces in {text[:80]!r} "
                            "(use {field} for a placeholder and {{ }} for literal braces)")


def fill(text: str, values: dict[str, Any]) -> str:
    """Substitute placeholders. Only plain lookups: no attribute access, indexing or code."""

    def sub(m: re.Match) -> str:
        v = values[m.group(1)]
        return v if isinstance(v, str) else str(v)

    parts = text.split("{{")
    out = []
    for part in parts:
        out.append("}".join(_PLACEHOLDER.sub(sub, p) for p in part.split("}}")))
    return "{".join(out)


def _template(raw: Any, where: str) -> Template:
    if not isinstance(raw, dict):
        raise TemplateError(f"{where}: each template must be a mapping with id and input")
    unknown = set(raw) - {"id", "input", "target", "turned", "when"}
    if unknown:
        raise TemplateError(f"{where}: unknown template key(s) {sorted(unknown)}")
    if "id" not in raw or "input" not in raw:
        raise TemplateError(f"{where}: a template needs 'id' and 'input'")
    tid = str(raw["id"])
    when = raw.get("when") or {}
    if not isinstance(when, dict):
        raise TemplateError(f"{where} template {tid}: 'when' must map fields to values")
    return Template(id=tid, input=str(raw["input"]), target=str(raw.get("target", "{answer}")),
                    turned=bool(raw.get("turned", False)), when=tuple(sorted(when.items())))


def parse_template_set(data: dict[str, Any], where: str) -> TemplateSet:
    unknown = set(data) - {"name", "version", "plain", "baseline", "baseline_options", "templates"}
    if unknown:
        raise TemplateError(f"{where}: unknown key(s) {sorted(unknown)}")
    for key in ("name", "templates", "plain", "baseline"):
        if key not in data:
            raise TemplateError(f"{where}: missing key {key!r}")
    templates = tuple(_template(t, f"{where} ({data['name']})") for t in data["templates"] or [])
    ids = [t.id for t in templates]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise TemplateError(f"{where}: duplicate template id(s) {sorted(dup)} in {data['name']!r}")
    bo = data.get("baseline_options")
    return TemplateSet(name=str(data["name"]), version=int(data.get("version", 1)), templates=templates,
                       plain=str(data["plain"]), baseline=str(data["baseline"]),
                       baseline_options=tuple(str(o) for o in bo) if bo else None, path=where)


def load_template_file(path: Path) -> list[TemplateSet]:
    """A file holds one template set, or a list of them under `sets:`."""
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise TemplateError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: expected a mapping")
    if "sets" in data:
        return [parse_template_set(d, str(path)) for d in data["sets"]]
    return [parse_template_set(data, str(path))]
