"""Evaluation settings: a typed config, from YAML (`--config`), `--set key=value` and CLI options.

    cfg = load_config(EvalConfig, "configs/eval/nli.yaml", cli={"model": "smollm2-135m-instruct"})

Everything that can change a score is here and goes into the cell cache key (`runner.cell_key`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..config import Config

# Between the prompt and the answer, as the mixtures stage joins them for training (features.tokenize):
# `input EOS target`. "eos" means: the tokenizer's EOS token for decoder-only models, nothing for
# encoder-decoder models (the target is its own sequence and the encoder input ends with EOS).
EOS_JOIN = "eos"
BASELINE_DELIMITER = " "  # GPT-3-style continuation prompts end with "Answer:" and the option follows a space
# Few-shot layout (section 4.4): as the mixtures stage builds few-shot training prompts (FewShotConfig), and
# GPT-3's blank line between demonstrations for baseline prompts.
FEWSHOT_SEPARATOR, FEWSHOT_ANSWER_SEPARATOR, BASELINE_FEWSHOT_SEPARATOR = "\n\n\n", "\n\n", "\n\n"


class EvalConfig(Config):
    model: str = Field("smollm2-135m-instruct", description="Model name: alias, local dir, gguf:PATH or hub id.")
    tasks: list[str] = Field(default_factory=list, description="Task names.")
    clusters: list[str] = Field(default_factory=list, description="Cluster names: every task of each.")
    templates: list[str] = Field(default_factory=list, description="Only these template ids (default: every "
                                 "forward template).")
    shots: int = Field(0, ge=0, description="Few-shot exemplars from the training split (0: zero-shot).")
    mode: Literal["natural", "no_template", "dataset_name", "baseline"] = Field(
        "natural", description="Prompt mode; baseline = GPT-3-style continuation prompts for untuned models.")
    split: Literal["test", "dev"] = Field("test", description="test: score the test role (and dev to pick the "
                                          "best template, see best_dev); dev: score the dev role only.")
    best_dev: bool = Field(True, description="Also score dev to choose the best template (paper protocol).")
    limit: int | None = Field(None, ge=1, description="At most this many examples per task and split.")
    sample: Literal["first", "random"] = Field("first", description="Which examples `limit` keeps: the first N "
                                               "of the split (lm-eval's --limit), or N drawn at random (seeded by "
                                               "`seed`, the task and the split): an unbiased subset of a split "
                                               "whose file order is not random.")
    dev_limit: int | None = Field(200, ge=1, description="At most this many dev examples (template choice).")
    batch_size: int = Field(16, ge=1)
    max_batch_tokens: int | None = Field(None, ge=1, description="Cap on padded tokens per scoring batch "
                                         "(default: 512 on CPU, where small batches are faster; none on GPU).")
    device: str | None = None
    dtype: str | None = Field(None, description="fp32, bf16, fp16 or auto (fp32 on CPU).")
    source: Literal["auto", "hub", "mirror", "bundled"] = "auto"
    data_dir: str | None = None
    tasks_file: list[str] = Field(default_factory=list)
    split_overrides: dict[str, dict[str, str]] = Field(default_factory=dict, description="task -> {role: split}.")
    target_delimiter: str | None = Field(None, description=f"Text between prompt and answer; '{EOS_JOIN}' joins "
                                         "with the EOS token as training does. Default: eos, or ' ' in baseline mode.")
    rank_eos: bool | None = Field(None, description="Rank classification: score each option followed by the EOS "
                                  "token (FLAN's targets end with EOS, so an option that is a prefix of another "
                                  "is not favoured); false: the option's tokens alone (lm-eval style). Default: "
                                  "true, or false in baseline mode (GPT-3's protocol). docs/protocol.md.")
    chat_template: bool = Field(False, description="Wrap each prompt in the model's own chat template (one user "
                                "turn + the assistant's opening, as lm-eval's --apply_chat_template); the answer "
                                "follows it with no other join.")
    max_new_tokens: int = Field(256, ge=1, description="Generation cap; a cell uses 1.25x its longest reference "
                                "+ 8 tokens, at most this.")
    stop: list[str] | None = Field(None, description="Stop strings (default: none, or a newline in baseline mode).")
    num_beams: int = Field(1, ge=1)
    do_sample: bool = False
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int = 0
    fewshot_seed: int = 0
    fewshot_pool: int = Field(200, ge=1, description="Training examples the exemplars are drawn from.")
    fewshot_budget: int = Field(960, ge=1, description="Token budget of a few-shot prompt (exemplars + input).")
    fewshot_separator: str | None = Field(None, description="Between exemplars (default: '\\n\\n\\n' as the "
                                          "mixtures' few-shot training prompts; '\\n\\n' in baseline mode, as GPT-3).")
    fewshot_answer_separator: str | None = Field(None, description="Between an exemplar's input and its answer "
                                                 "(default: the target delimiter when it is text, e.g. ' ' in "
                                                 "baseline mode, so exemplars read as the query is scored; "
                                                 "'\\n\\n' with the EOS join, as few-shot training prompts).")
    cache: bool = Field(True, description="Reuse finished cells from the cell cache.")
    cache_dir: str | None = Field(None, description="Cell cache (default: <flanlab cache>/eval-cells).")
    out: str | None = Field(None, description="Run directory (default: runs/eval-<model>-<time>).")

    @field_validator("tasks", "clusters", "templates", mode="before")
    @classmethod
    def _split_commas(cls, v):
        if isinstance(v, str):
            v = [v]
        return [p.strip() for item in (v or []) for p in str(item).split(",") if p.strip()]

    def delimiter(self) -> str:
        """The text between prompt and answer (EOS_JOIN stays symbolic: the runner resolves it per model)."""
        if self.target_delimiter is not None:
            return self.target_delimiter
        return BASELINE_DELIMITER if self.mode == "baseline" else EOS_JOIN

    def option_eos(self) -> bool:
        """Whether rank classification scores EOS after every option (see `rank_eos`)."""
        return self.rank_eos if self.rank_eos is not None else self.mode != "baseline"

    def fewshot_layout(self) -> tuple[str, str]:
        """(between exemplars, between an exemplar's input and its answer), see the two fields."""
        delim = self.delimiter()
        text_join = delim != EOS_JOIN
        sep = self.fewshot_separator if self.fewshot_separator is not None else (
            BASELINE_FEWSHOT_SEPARATOR if self.mode == "baseline" else FEWSHOT_SEPARATOR)
        ans = self.fewshot_answer_separator if self.fewshot_answer_separator is not None else (
            delim if text_join else FEWSHOT_ANSWER_SEPARATOR)
        return sep, ans

    def stop_strings(self) -> tuple[str, ...]:
        if self.stop is not None:
            return tuple(self.stop)
        return ("\n",) if self.mode == "baseline" else ()
