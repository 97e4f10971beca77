"""Chat templates: a FLAN example in the model's own conversation format, for training and evaluation.

    prompt = chat_prompt(tok, "Is the sky blue?")              # user turn + the assistant's opening
    prompt, completion = chat_pair(tok, "Is the sky blue?", "yes")
    prompt + completion == tok.apply_chat_template([user, assistant], tokenize=False)   # tested

As TRL's conversational format (`messages`: one user turn holding the instruction prompt, one assistant
turn holding the target) and lm-evaluation-harness's `--apply_chat_template` (the prompt as one user
message, rendered with the generation prompt): the text comes from the tokenizer's own template (Jinja,
`tokenizer.apply_chat_template`), including whatever default system prompt it inserts. Training's loss is
on the completion: the target and the template's end of turn. Evaluation scores the options (or
generates) right after the assistant's opening, with no other join.

Selected per run by `chat_template: true` (EvalConfig and MixtureConfig), recorded in results.json and the
train run's config. A tokenizer without a chat template is refused with an error naming it.
"""

from __future__ import annotations

from typing import Any

from ..errors import FlanlabError


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def _require(tokenizer: Any) -> None:
    if not has_chat_template(tokenizer):
        name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
        raise FlanlabError(f"chat_template: the tokenizer of {name!r} has no chat template (it is not a chat "
                           "model); run without chat_template")


def messages(user: str, assistant: str | None = None) -> list[dict[str, str]]:
    """TRL's conversational format of one example."""
    out = [{"role": "user", "content": user}]
    if assistant is not None:
        out.append({"role": "assistant", "content": assistant})
    return out


def chat_prompt(tokenizer: Any, user: str) -> str:
    """The user turn and the assistant's opening (`add_generation_prompt=True`), as text."""
    _require(tokenizer)
    return tokenizer.apply_chat_template(messages(user), tokenize=False, add_generation_prompt=True)


def chat_pair(tokenizer: Any, user: str, assistant: str) -> tuple[str, str]:
    """(prompt, completion): the prompt as `chat_prompt`, the completion the rest of the whole conversation
    (the answer and the template's end of turn), so that prompt + completion is the template's rendering."""
    prompt = chat_prompt(tokenizer, user)
    full = tokenizer.apply_chat_template(messages(user, assistant), tokenize=False)
    if not full.startswith(prompt):
        raise FlanlabError("chat_template: the tokenizer's template renders a conversation that does not begin "
                           "with its own generation prompt; it cannot be split into prompt and completion")
    return prompt, full[len(prompt):]
