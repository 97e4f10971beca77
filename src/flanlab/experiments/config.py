"""Experiment configuration: one YAML file per experiment.

    cfg = load_experiment("configs/experiments/heldout_sweep.yaml", overrides=["train.steps=50"])

An experiment names its kind (one of the paper's studies), its base model(s), what to evaluate, and three
sections handed to the stages unchanged: `mixture` (flanlab.mixtures MixtureConfig), `train`
(flanlab.training TrainConfig) and `eval` (flanlab.evaluation EvalConfig). The plan fills in the fields
each step varies (hold-out clusters, model, shots, template mode); everything else comes from the
sections, so a step's inputs are exactly what its stage receives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ..config import Config, load_config

KINDS = ("heldout_sweep", "num_clusters", "model_scale", "instructions", "few_shot", "prompt_tuning", "demo")
Kind = Literal["heldout_sweep", "num_clusters", "model_scale", "instructions", "few_shot", "prompt_tuning", "demo"]

# The SuperGLUE tasks of the paper's prompt-tuning study (section 4.5), by catalogue name.
SUPERGLUE_TASKS = ("boolq", "cb", "copa", "multirc", "record", "rte", "wic", "wsc")
# The three evaluation clusters held fixed in the number-of-clusters and model-scale studies (4.1, 4.2).
ABLATION_EVAL_CLUSTERS = ("nli", "closed_book_qa", "commonsense")


class ContaminationConfig(Config):
    """N-gram overlap between each evaluation set and the instruction-tuning mixture (report section)."""

    enabled: bool = True
    n: int = Field(13, ge=3, description="n-gram length in words (13 as in GPT-3's and FLAN's checks)")
    max_train_examples: int = Field(20000, ge=1, description="training examples read per tuned task")
    max_eval_examples: int | None = Field(None, description="evaluation examples read per task")


class PromptTuningSpec(Config):
    """Soft prompts on SuperGLUE tasks for the base and the tuned model (section 4.5)."""

    tasks: list[str] = Field(default_factory=lambda: list(SUPERGLUE_TASKS))
    examples: list[int | None] = Field(default_factory=lambda: [None, 32],
                                       description="training examples per task; null = the full train split")
    train: dict[str, Any] = Field(default_factory=dict,
                                  description="TrainConfig fields for the soft-prompt runs (method, steps, ...)")


class ExperimentConfig(Config):
    """One declared experiment; see configs/experiments/*.yaml for one example per kind."""

    name: str = Field(description="experiment name: its directory is <runs_dir>/<name>")
    kind: Kind
    models: list[str] = Field(default_factory=lambda: ["smollm2-135m-instruct"],
                              description="base models (model_scale: in increasing size)")
    model_params: dict[str, float] = Field(default_factory=dict,
                                           description="parameter counts by model for the scale plot "
                                           "(default: counted from the weights)")
    runs_dir: str = "runs"
    seed: int = 0
    eval_clusters: list[str] = Field(default_factory=lambda: ["nli"],
                                     description="held-out clusters evaluated zero-shot")
    eval_tasks: list[str] = Field(default_factory=list,
                                  description="if set, evaluate only these tasks of the evaluation clusters")
    held_in_tasks: list[str] = Field(default_factory=list,
                                     description="demo: tuned tasks also evaluated (on examples never trained on)")
    held_in_eval: dict[str, Any] = Field(default_factory=dict,
                                         description="demo: EvalConfig fields overriding `eval` for held-in tasks")
    tuning_clusters: list[str] = Field(default_factory=list,
                                       description="num_clusters: order in which clusters are added "
                                       "(default: decreasing number of tasks)")
    max_clusters: int = Field(7, ge=1)
    baselines: bool = Field(True, description="heldout_sweep: also score the base model with baseline "
                            "(GPT-3 style) prompts, zero- and few-shot")
    baseline_shots: int = Field(1, ge=1, description="few-shot k of the baseline prompts")
    shots: list[int] = Field(default_factory=lambda: [0, 1], description="few_shot: shot counts evaluated")
    instruction_modes: list[Literal["natural", "no_template", "dataset_name"]] = Field(
        default_factory=lambda: ["natural", "no_template", "dataset_name"])
    prompt_tuning: PromptTuningSpec = Field(default_factory=PromptTuningSpec)
    contamination: ContaminationConfig = Field(default_factory=ContaminationConfig)
    mixture: dict[str, Any] = Field(default_factory=dict, description="MixtureConfig fields")
    train: dict[str, Any] = Field(default_factory=dict, description="TrainConfig fields")
    eval: dict[str, Any] = Field(default_factory=dict, description="EvalConfig fields")

    @field_validator("models")
    @classmethod
    def _models(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one base model is needed")
        return v

    @field_validator("eval_clusters")
    @classmethod
    def _clusters(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate evaluation cluster in {v}")
        return v

    @property
    def directory(self) -> Path:
        return Path(self.runs_dir) / self.name


def load_experiment(path: str | Path, overrides: list[str] | None = None,
                    cli: dict[str, Any] | None = None) -> ExperimentConfig:
    """Read an experiment YAML, apply `key.sub=value` overrides and CLI options."""
    return load_config(ExperimentConfig, path, overrides=overrides, cli=cli)
