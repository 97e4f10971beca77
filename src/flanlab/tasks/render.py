"""Turn one canonical example into text: `{"inputs", "targets"}` plus the options for rank scoring.

    >>> r = render(rte, templates, templates.get("01"), {"premise": "A dog runs.", "hypothesis":
    ...            "An animal moves.", "label": 0, "id": "rte:train:0"})
    >>> print(r.inputs)
    A dog runs.

    Does the premise mean that "An animal moves." is true?

    OPTIONS:
    - yes
    - no
    >>> r.targets, r.options, r.label
    ('yes', ('yes', 'no'), 0)

Modes (the paper's section 4.3 ablations): `natural` (instruction templates), `no_template` (the task's
plain rendering: inputs only), `dataset_name` ("[Natural language inference: RTE] " + plain), `baseline`
(a GPT-3-style continuation prompt for untuned models, no OPTIONS suffix; the scored options are the
template set's `baseline_options`, the example's `completions`, or the options themselves).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import FlanlabError
from .task import TaskSpec
from .templates import Template, TemplateSet, fill

MODES = ("natural", "no_template", "dataset_name", "baseline")
DEFAULT_OPTIONS_HEADER = "OPTIONS:"


@dataclass(frozen=True)
class Rendered:
    task: str
    template_id: str  # "01", or the mode name for plain modes
    example_id: str
    inputs: str
    targets: str
    options: tuple[str, ...] | None = None  # option texts scored by rank classification
    label: int | None = None  # index of the gold option
    references: tuple[str, ...] = ()  # every gold answer (generation metrics)
    turned: bool = False


def example_options(task: TaskSpec, example: dict[str, Any]) -> tuple[str, ...] | None:
    if task.dynamic_options:
        return tuple(str(o) for o in example["options"])
    return task.options


def options_block(options: tuple[str, ...], header: str = DEFAULT_OPTIONS_HEADER) -> str:
    return header + "\n" + "\n".join(f"- {o}" for o in options)


def _answer(task: TaskSpec, example: dict[str, Any], options: tuple[str, ...] | None) -> tuple[str, int | None]:
    if options is not None:
        label = example.get("label")
        if not isinstance(label, int) or not 0 <= label < len(options):
            raise FlanlabError(f"task {task.name!r}, example {example.get('id')}: label {label!r} is not an "
                               f"index into its {len(options)} options")
        return options[label], label
    if "target" not in example:
        raise FlanlabError(f"task {task.name!r}, example {example.get('id')}: preprocess gave no 'target'")
    return str(example["target"]), None


def render(task: TaskSpec, tset: TemplateSet, template: Template | None, example: dict[str, Any], *,
           mode: str = "natural", options_header: str = DEFAULT_OPTIONS_HEADER) -> Rendered | None:
    """Render `example` with `template` (ignored for plain modes). None if the template's `when` excludes it."""
    if mode not in MODES:
        raise FlanlabError(f"unknown template mode {mode!r}; known: {', '.join(MODES)}")
    options = example_options(task, example)
    answer, label = _answer(task, example, options)
    values = dict(example)
    values["answer"] = answer
    if options is not None:
        values["options"] = options_block(options, options_header)
        values["options_inline"] = ", ".join(options)
    eid = str(example.get("id", ""))
    refs = tuple(example.get("references") or (answer,))

    if mode == "natural":
        assert template is not None, "natural mode needs a template"
        if not template.applies_to(example):
            return None
        inputs = fill(template.input, values)
        targets = fill(template.target, values)
        if template.turned:
            return Rendered(task.name, template.id, eid, inputs, targets, None, None, (targets,), True)
        if options is not None and "{options}" not in template.input:
            inputs = inputs.rstrip() + "\n\n" + values["options"]
        return Rendered(task.name, template.id, eid, inputs, targets, options, label, refs)

    if mode == "baseline":
        inputs = fill(tset.baseline, values)
        opts = tset.baseline_options if (options is not None and tset.baseline_options) else options
        if options is not None and example.get("completions"):  # per-example continuations (COPA)
            opts = tuple(str(c) for c in example["completions"])
            if len(opts) != len(options):
                raise FlanlabError(f"task {task.name!r}, example {example.get('id')}: {len(opts)} completions "
                                   f"for {len(options)} options")
        target = opts[label] if (opts is not None and label is not None) else answer
        return Rendered(task.name, "baseline", eid, inputs, target, opts, label, refs)

    plain = fill(tset.plain, values)
    if mode == "dataset_name":
        plain = f"[{task.display_name}] {plain}"
    if options is not None:
        plain = plain.rstrip() + "\n\n" + values["options"]  # the OPTIONS suffix is kept in every mode
    return Rendered(task.name, mode, eid, plain, answer, options, label, refs)
