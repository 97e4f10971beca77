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
# Figure 5's held-out clusters (section 3), on which the instruction ablation (section 4.3, Figure 8) is evaluated.
FIGURE5_CLUSTERS = ("nli", "reading_comprehension", "closed_book_qa", "translation")
# Figure 6 (section 4.1): the order in which the tuning clusters are added (the x axis of the figure; misc is
# not added, only its conversational QA sub-cluster), and exactly the evaluation tasks its caption lists.
FIGURE6_CLUSTER_ORDER = ("summarization", "translation", "reading_comprehension", "sentiment", "struct_to_text",
                         "coreference", "conversational_qa")
FIGURE6_EVAL_TASKS: dict[str, tuple[str, ...]] = {
    "commonsense": ("copa", "hellaswag", "piqa", "story_cloze"),
    "nli": ("anli_r1", "anli_r2", "anli_r3", "qnli", "rte", "snli", "wnli"),
    "closed_book_qa": ("arc_easy", "arc_challenge", "nq_open", "triviaqa"),
}


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
                                       "(default: cluster_order)")
    cluster_order: Literal["paper", "size"] = Field(
        "paper", description="num_clusters without tuning_clusters: paper = Figure 6's order (summarization, "
        "translation, reading comprehension, sentiment, data-to-text, coreference, conversational QA); size = "
        "decreasing number of datasets in the catalogue")
    eval_set: Literal["paper", "clusters"] = Field(
        "paper", description="num_clusters: paper = exactly Figure 6's evaluation tasks for commonsense, NLI and "
        "closed-book QA (other clusters: all their tasks); clusters = every task of the evaluation clusters")
    max_clusters: int = Field(7, ge=1)
    untuned_mode: Literal["baseline", "natural"] = Field(
        "baseline", description="how the untuned model is prompted in the main comparison: baseline = "
        "GPT-3-style prompts, as the paper (section 3: LaMDA-PT is not suited to natural instructions without "
        "instruction tuning); natural = the instruction templates")
    untuned_instructions: bool = Field(True, description="also evaluate the untuned model with the instruction "
                                       "templates, as an extra series (variant untuned-instructions)")
    baselines: bool = Field(True, description="heldout_sweep: also score the untuned model with few-shot "
                            "GPT-3-style prompts (baseline_shots exemplars), the paper's LaMDA-PT few-shot")
    baseline_shots: int = Field(1, ge=1, description="few-shot k of the baseline prompts")
    shots: list[int] = Field(default_factory=lambda: [0, 16], description="few_shot: shot counts evaluated; 0 "
                             "scores the zero-shot model, k > 0 the model tuned on few-shot prompts, with k exemplars")
    fewshot_training: Literal["few_shot", "zero_shot"] = Field(
        "few_shot", description="few_shot: the model scored with exemplars is tuned on few-shot prompts (few_shot, "
        "section 4.4: exemplars 'during training and inference') or is the zero-shot model (exemplars at "
        "inference only)")
    fewshot_k: int = Field(16, ge=1, description="few_shot: most exemplars per training prompt (paper: 16)")
    fewshot_budget: int = Field(960, ge=1, description="few_shot: token budget of exemplars + input, in training "
                                "and evaluation (paper: under 960); must fit mixture.max_input_len")
    instruction_modes: list[Literal["natural", "no_template", "dataset_name"]] = Field(
        default_factory=lambda: ["natural", "no_template", "dataset_name"])
    instructions_holdout: Literal["per_cluster", "joint"] = Field(
        "per_cluster", description="instructions (Figure 8): per_cluster = each evaluation cluster scored by its "
        "own leave-one-cluster-out models, as in Figure 5 (the paper); joint = one set of models with every "
        "evaluation cluster held out together")
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
    """Read an experiment YAML, apply `key.sub=value` overrides and CLI options.

    The `mixture`, `train` and `eval` sections are checked against the stages' configs here, at plan time,
    so `--set train.stepz=3` is an error naming the override before any step runs."""
    cfg = load_config(ExperimentConfig, path, overrides=overrides, cli=cli)
    check_sections(cfg, path, overrides)
    return cfg


def check_sections(cfg: ExperimentConfig, path: str | Path | None = None, overrides: list[str] | None = None) -> None:
    from pydantic import ValidationError

    from ..config import format_validation_error
    from ..errors import FlanlabError
    from ..evaluation.config import EvalConfig
    from ..mixtures.config import MixtureConfig
    from ..training.config import TrainConfig

    sections = [("mixture", MixtureConfig, cfg.mixture), ("train", TrainConfig, cfg.train),
                ("eval", EvalConfig, cfg.eval), ("prompt_tuning.train", TrainConfig, cfg.prompt_tuning.train)]
    for name, model, data in sections:
        try:
            model.model_validate(data)
        except ValidationError as e:
            bad = [".".join(str(p) for p in x["loc"]) for x in e.errors()]
            culprit = next((o for o in overrides or [] for b in bad
                            if o.split("=", 1)[0].strip() == f"{name}.{b}" or o.startswith(f"{name}=")), None)
            source = f"--set {culprit}" if culprit else str(path or "experiment config")
            msg = format_validation_error(e, source).replace("invalid config: ", f"invalid {name} section: ")
            raise FlanlabError(msg) from None
