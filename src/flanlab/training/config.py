"""Training configuration: the FLAN recipe as typed defaults, every value overridable.

    cfg = load_config(TrainConfig, "configs/train/smoke.yaml", overrides=["optim.lr=1e-4", "steps=50"])

Defaults follow the paper (section 2.3 and appendix): Adafactor at a constant learning rate of 3e-5, token
budget of 8,192 tokens per optimizer step, inputs of 1,024 and targets of 256 tokens, packing on, loss on
targets only, 30,000 steps, the final checkpoint is the one evaluated. Prompt tuning follows section 4.5:
soft prompt of 10 tokens, weight decay 1e-4, no dropout on attention scores (learning rate 0.3 as in
Lester et al. 2021, which the paper builds on).
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from ..config import Config
from ..mixtures.config import MixtureConfig

# Per-method defaults used when `optim.lr` / `optim.weight_decay` are left unset.
DEFAULT_LR = {"full": 3e-5, "lora": 1e-4, "prompt": 0.3}
DEFAULT_WEIGHT_DECAY = {"full": 0.0, "lora": 0.0, "prompt": 1e-4}


class OptimConfig(Config):
    """Optimizer, schedule and clipping."""

    name: Literal["adafactor", "adamw"] = Field("adafactor", description="adafactor (paper) or adamw.")
    lr: Optional[float] = Field(None, gt=0, description="Peak learning rate; unset: 3e-5 full, 1e-4 LoRA, "
                                "0.3 prompt tuning.")
    schedule: Literal["constant", "linear", "cosine"] = Field("constant", description="After warm-up.")
    warmup_steps: int = Field(0, ge=0, description="Linear warm-up from 0 to lr over this many steps.")
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="Floor of linear/cosine decay, as lr fraction.")
    weight_decay: Optional[float] = Field(None, ge=0, description="Unset: 0 (full, LoRA), 1e-4 (prompt).")
    betas: tuple[float, float] = Field((0.9, 0.999), description="AdamW betas.")
    eps: float = Field(1e-8, gt=0, description="AdamW epsilon.")
    fused: bool = Field(True, description="AdamW: torch's fused kernel (about 10x faster steps on CPU).")
    clip_grad_norm: Optional[float] = Field(None, gt=0, description="Clip the global gradient norm; unset: off.")


class BatchConfig(Config):
    """Token-budget batches: an optimizer step sees `tokens` non-padding tokens (the paper: 8,192)."""

    tokens: int = Field(8192, gt=0, description="Non-padding tokens (inputs + targets) per optimizer step.")
    micro_rows: int = Field(4, gt=0, description="Rows per forward pass; the rest is gradient accumulation.")


class TuningConfig(Config):
    """What is trained: all weights, LoRA adapters, or a soft prompt (peft)."""

    method: Literal["full", "lora", "prompt"] = "full"
    lora_r: int = Field(8, gt=0)
    lora_alpha: int = Field(16, gt=0)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    lora_targets: list[str] | Literal["all-linear"] = Field("all-linear", description="Module names or all-linear.")
    prompt_length: int = Field(10, gt=0, description="Soft prompt tokens (paper section 4.5: 10).")
    gradient_checkpointing: bool = False


class CheckpointConfig(Config):
    """Periodic checkpoints under <out>/checkpoints/step-N (model, optimizer, scheduler, RNG, data position)."""

    every: int = Field(1000, ge=0, description="Save every N steps; 0: only the final model.")
    keep: int = Field(2, ge=1, description="How many periodic checkpoints to keep (oldest removed first).")


class CheckpointEvalConfig(Config):
    """Held-out scores while training (`--eval-every N`): rank classification of a few templates on a fixed
    subset of test examples, at step 0, every N steps and the last step (metrics.jsonl and the trackers).
    The evaluation stage provides the scorer (flanlab.evaluation.in_training); training only calls it."""

    every: int = Field(0, ge=0, description="Score every N optimizer steps (and at step 0 and the last); 0: off.")
    tasks: list[str] = Field(default_factory=list, description="Tasks or clusters to score; default: the "
                             "held-out classification tasks.")
    templates: int = Field(3, gt=0, description="The first N forward templates of each task.")
    limit: int = Field(100, gt=0, description="The first N test examples of each task (the same every time).")
    batch_size: int = Field(16, gt=0, description="Scoring batch size.")


class TrainConfig(Config):
    """`flanlab train` configuration. The `mixture` section is the mixture stage's config."""

    model: str = Field("smollm2-135m-instruct", description="Hub id, local dir, gguf:PATH or alias.")
    trust_remote_code: bool = False
    out: Optional[str] = Field(None, description="Run directory; default runs/train-<model>-<time>.")
    steps: int = Field(30000, gt=0, description="Optimizer steps (the paper: 30,000).")
    seed: int = 0
    device: Optional[str] = Field(None, description="cpu, cuda, auto; under accelerate launch the launcher decides.")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field("auto", description="auto: bf16 where supported, fp32 on CPU.")
    log_every: int = Field(1, gt=0, description="Write metrics.jsonl every N steps.")
    log_examples: bool = Field(False, description="Write examples-rank<i>.jsonl: mixture positions per step.")
    trackers: list[Literal["tensorboard", "wandb", "mlflow"]] = Field(default_factory=list)
    loss: Literal["auto", "targets", "full"] = Field(
        "auto", description="targets: project only target positions through the LM head (faster, same loss); "
        "full: the model's logits everywhere; auto: targets where the model allows it.")
    attention: Literal["auto", "segments", "mask"] = Field(
        "auto", description="How packed examples are kept apart. segments: attention runs per packed example "
        "(no mask, only the diagonal blocks are computed; flanlab.training.packed_attention); mask: a "
        "block-diagonal 4-D mask over the whole row; auto: segments where the model supports it.")
    mixture: MixtureConfig = Field(default_factory=MixtureConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    batch: BatchConfig = Field(default_factory=BatchConfig)
    tuning: TuningConfig = Field(default_factory=TuningConfig)
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    eval: CheckpointEvalConfig = Field(default_factory=CheckpointEvalConfig)

    @model_validator(mode="after")
    def _check(self) -> "TrainConfig":
        if self.optim.warmup_steps > self.steps:
            raise ValueError(f"optim.warmup_steps ({self.optim.warmup_steps}) exceeds steps ({self.steps})")
        return self

    @property
    def lr(self) -> float:
        return self.optim.lr if self.optim.lr is not None else DEFAULT_LR[self.tuning.method]

    @property
    def weight_decay(self) -> float:
        wd = self.optim.weight_decay
        return wd if wd is not None else DEFAULT_WEIGHT_DECAY[self.tuning.method]
