"""A task is a small declarative record plus a pure `preprocess(row) -> dict`.

    TaskSpec(name="rte", cluster="nli", source=Source("aps/super_glue", "rte"),
             preprocess=rte_fields, fields=("premise", "hypothesis"),
             options=("yes", "no"), metrics=("accuracy",), display="NLI: RTE")

`preprocess` maps one row of the source (the Hugging Face Hub's schema) to the task's canonical fields:
the `fields` the templates may name, plus either `label` (int, index into the options) for a
classification task or `target` (str) for a generation task, and optionally `references` (every gold
answer, for metrics), `options` (per-example options, for tasks such as COPA whose choices vary) and
`completions` (per-example option texts as continuations of the GPT-3-style baseline prompt, when they differ
from the options: COPA's "because he ..." for "He ...").
It returns None to skip a row (for example a row without a gold label); skips are counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

Row = dict[str, Any]

HIDDEN_LABEL = -1  # what the Hub writes for a gold label it hides (GLUE/SuperGLUE test splits, ...)


def labelled(row: Row, key: str = "label") -> bool:
    """Whether `row` carries a gold label (the Hub marks hidden ones with -1); preprocess skips the others.

    >>> labelled({"label": 1}), labelled({"label": -1})
    (True, False)
    """
    return row[key] != HIDDEN_LABEL


CLASSIFICATION_METRICS = {"accuracy", "f1_binary", "f1_macro", "mcc", "multirc_f1a", "exact_match_rank"}


@dataclass(frozen=True)
class Source:
    """Where a task's rows come from: a Hugging Face Hub dataset id and config.

    The same ids address the local mirror layout `<dir>/<hub_id>/<config>/<split>.jsonl`.
    """

    hub_id: str
    config: str = "default"

    @property
    def hub_config(self) -> str | None:
        return None if self.config == "default" else self.config


@dataclass(frozen=True)
class SplitRoles:
    """Which source split serves for training, dev (template selection) and test.

    The paper's policy: the test role is the validation split (test labels are private), and dev is
    carved from train: every `dev_every`-th row of the train split goes to dev and is removed from train,
    so the two never overlap. When `dev` names a different split than `train`, nothing is carved.
    """

    train: str = "train"
    dev: str = "train"
    test: str = "validation"
    dev_every: int = 10

    @property
    def carved(self) -> bool:
        return self.dev == self.train

    def override(self, **roles: str) -> "SplitRoles":
        return replace(self, **{k: v for k, v in roles.items() if v is not None})


@dataclass(frozen=True)
class TaskSpec:
    name: str
    cluster: str
    source: Source
    preprocess: Callable[[Row], Row | None]
    fields: tuple[str, ...]
    metrics: tuple[str, ...] = ("accuracy",)
    options: tuple[str, ...] | None = None
    dynamic_options: bool = False
    splits: SplitRoles = field(default_factory=SplitRoles)
    display: str = ""
    description: str = ""
    template_set: str = ""  # name of the templates/<set>.yaml file; default: the task name
    dataset: str = ""  # the paper's dataset grouping (anli_r1..r3 -> "anli"): 62 datasets; default: name
    turnable: bool = True
    # One-row-per-reference sources (CommonGen, E2E): consecutive rows with the same value of this column
    # are one example; preprocess gets the first row plus `_rows` (the whole group). Carving counts groups,
    # so an input never lands in both train and dev; the train role yields one example per reference.
    group_by: str = ""
    # Evaluation-only: the task's only labelled split is its test split (WSC273), so it never trains: a
    # mixture leaves it out (shown in `flanlab mixture plan`), and naming it in `include` is an error. Its
    # train role still serves evaluation (few-shot exemplars: the other test rows; see docs/protocol.md).
    evaluation_only: bool = False
    version: int = 1

    @property
    def is_classification(self) -> bool:
        return self.options is not None or self.dynamic_options

    @property
    def kind(self) -> str:
        return "classification" if self.is_classification else "generation"

    @property
    def templates_name(self) -> str:
        return self.template_set or self.name

    @property
    def dataset_name(self) -> str:
        return self.dataset or self.name

    @property
    def display_name(self) -> str:
        return self.display or self.name

    def example_fields(self) -> set[str]:
        """Every placeholder a template of this task may name."""
        names = set(self.fields) | {"answer"}
        if self.is_classification:
            names |= {"options", "options_inline"}
        return names


def field_map(fields: dict[str, str], *, label: str | None = None, target: str | None = None,
              references: str | None = None, options: str | None = None,
              skip_label: int | None = HIDDEN_LABEL) -> Callable[[Row], Row | None]:
    """A preprocess that copies source columns to canonical fields; for tasks declared in YAML.

    >>> field_map({"premise": "sentence1"}, label="label")({"sentence1": "A.", "label": 1})
    {'premise': 'A.', 'label': 1}
    """

    def preprocess(row: Row) -> Row | None:
        out: Row = {name: row[col] for name, col in fields.items()}
        if label is not None:
            if row[label] == skip_label:
                return None
            out["label"] = int(row[label])
        if target is not None:
            value = row[target]
            if isinstance(value, list):
                if not value:
                    return None
                out["references"], value = [str(v) for v in value], value[0]
            out["target"] = str(value)
        if references is not None:
            out["references"] = [str(v) for v in row[references]]
        if options is not None:
            out["options"] = list(row[options])
        return out

    preprocess.__qualname__ = f"field_map({fields})"
    return preprocess
