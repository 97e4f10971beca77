"""The mixture's configuration: everything that can change which examples train, and in what order.

    cfg = MixtureConfig(holdout=["nli"], seed=1, few_shot={"enabled": True, "k": 4})
    cfg = load_config(MixtureConfig, "mix.yaml", overrides=["cap=10000", "few_shot.budget=512"])

A YAML file holds the same keys (`holdout: [nli]`, `scheme: temperature`, `temperature: 2`, ...).
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from ..config import Config


class FewShotConfig(Config):
    """Few-shot templates (paper section 4.4): instruct(x1) y1 ... instruct(xk) yk instruct(x)."""

    enabled: bool = Field(False, description="Train on few-shot prompts (the default is zero-shot templates).")
    k: int = Field(16, ge=1, description="Most exemplars per example (paper: 16).")
    budget: int = Field(960, ge=1, description="Most tokens of exemplars + input together (paper: 960).")
    separator: str = Field("\n\n\n", description="Between one exemplar and the next (the paper's delimiter).")
    answer_separator: str = Field("\n\n", description="Between an exemplar's input and its answer.")


class MixtureConfig(Config):
    holdout: list[str] = Field(default_factory=list, description="Clusters held out (their tasks never train).")
    holdout_tasks: list[str] = Field(default_factory=list, description="Single tasks held out by name.")
    include: list[str] = Field(default_factory=list,
                               description="Train only on these tasks/clusters (empty: every task not held out).")
    cap: int = Field(30_000, ge=1, description="Most training examples used per task (paper: 30,000).")
    rate_max: Optional[float] = Field(3_000, gt=0, description="Mixing rate maximum (paper: 3,000; null: none).")
    scheme: Literal["examples_proportional", "equal", "temperature"] = "examples_proportional"
    mixing_unit: Literal["dataset", "task"] = Field(
        "dataset", description="What gets one mixing rate: dataset = the paper's dataset (`TaskSpec.dataset`: both "
        "directions of a translation pair, ANLI R1-R3, all of ParaCrawl share one rate, split among their tasks "
        "by examples; docs/protocol.md, 'Mixing unit'); task = every task its own rate.")
    temperature: float = Field(1.0, gt=0, description="For scheme=temperature: rate = min(n,cap,max)^(1/T).")
    template_mode: Literal["natural", "no_template", "dataset_name"] = "natural"
    template_choice: Literal["random", "fixed", "round_robin"] = "random"
    template_id: Optional[str] = Field(None, description="For template_choice=fixed (default: first template).")
    few_shot: FewShotConfig = Field(default_factory=FewShotConfig)
    seed: int = 0
    source: Literal["auto", "hub", "mirror", "bundled"] = "auto"
    data_dir: Optional[str] = None
    split_overrides: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="task -> {train|dev|test: split name}.")
    tasks_file: list[str] = Field(default_factory=list, description="Extra task files (YAML or .py).")
    counts: dict[str, int] = Field(default_factory=dict,
                                   description="Known training-set sizes per task (skips counting, for plans).")
    missing_data: Literal["error", "skip"] = Field(
        "error", description="A training task without a train split: error, or skip it (reported).")
    chat_template: bool = Field(False, description="Render each example with the model's own chat template "
                                "(user turn = prompt, assistant turn = target; flanlab.mixtures.chat).")
    tokenizer: Optional[str] = Field(None, description="Model whose tokenizer counts tokens (default model).")
    max_input_len: int = Field(1024, ge=1)
    max_target_len: int = Field(256, ge=1)
    on_overlong: Literal["truncate", "skip", "error"] = "truncate"
    packing: bool = True
    seq_len: int = Field(2048, ge=8, description="Length of a packed row.")
    pack_method: Literal["bfd", "first_fit"] = "bfd"
    pack_window: int = Field(2000, ge=1, description="Examples packed together (memory is bounded by it).")

    @model_validator(mode="after")
    def _check(self) -> "MixtureConfig":
        if self.packing and self.seq_len < self.max_input_len + self.max_target_len + 3:
            raise ValueError(f"seq_len ({self.seq_len}) must hold one example of max_input_len + max_target_len "
                             f"+ BOS/EOS tokens ({self.max_input_len + self.max_target_len + 3})")
        if self.few_shot.enabled and self.few_shot.budget > self.max_input_len:
            raise ValueError(f"few_shot.budget ({self.few_shot.budget}) exceeds max_input_len "
                             f"({self.max_input_len}): prompts would be truncated")
        return self
