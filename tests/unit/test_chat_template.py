"""Chat templates (issue 12 item 4): rendering equals the tokenizer's own apply_chat_template, training
tokens carry the loss on the completion only, evaluation wraps prompts and records the choice."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from flanlab.errors import FlanlabError
from flanlab.mixtures.chat import chat_pair, chat_prompt, messages
from flanlab.mixtures.features import tokenize

# ChatML with a default system turn, as SmolLM2-Instruct's template (written here: no download)
CHATML = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
          "{{ '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}{% endif %}"
          "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
SMOLLM2 = Path.home() / ".cache" / "flanlab" / "models" / "smollm2-135m-instruct"
EXAMPLES = [("Premise: A man plays a guitar.\nHypothesis: A person makes music.\nOPTIONS:\n- yes\n- no", "yes"),
            ("Translate to French: Hello, how are you?", "Bonjour, comment allez-vous ?")]


def _ids(tok, msgs, **kw) -> list[int]:
    out = tok.apply_chat_template(msgs, tokenize=True, **kw)
    return list(out["input_ids"] if hasattr(out, "keys") else out)


@pytest.fixture(scope="module", params=["tiny", "smollm2"])
def chat_tok(request):
    if request.param == "tiny":
        from flanlab.testing import tiny_tokenizer

        tok = copy.deepcopy(tiny_tokenizer())  # the cached one stays template-free
        tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
        tok.chat_template = CHATML
        return tok
    if not (SMOLLM2 / "tokenizer.json").is_file():
        pytest.skip(f"SmolLM2 not prepared at {SMOLLM2} (flanlab models prepare smollm2-135m-instruct)")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(SMOLLM2)


@pytest.mark.parametrize("user,answer", EXAMPLES)
def test_rendering_equals_the_tokenizers_own_apply_chat_template(chat_tok, user, answer):
    prompt, completion = chat_pair(chat_tok, user, answer)
    assert prompt == chat_prompt(chat_tok, user) == chat_tok.apply_chat_template(
        messages(user), tokenize=False, add_generation_prompt=True)
    assert prompt + completion == chat_tok.apply_chat_template(messages(user, answer), tokenize=False)
    assert completion.startswith(answer) and len(completion) > len(answer)  # the end of turn follows


def test_training_tokens_are_the_templates_and_the_loss_is_on_the_completion(chat_tok):
    feats = tokenize(EXAMPLES, chat_tok, kind="decoder", chat=True)
    for f, (user, answer) in zip(feats, EXAMPLES):
        assert f.input_ids == _ids(chat_tok, messages(user, answer))
        assert f.n_prompt == len(_ids(chat_tok, messages(user), add_generation_prompt=True))
        assert chat_tok.decode(f.input_ids[f.n_prompt:]).startswith(answer)
    plain = tokenize(EXAMPLES, chat_tok, kind="decoder")
    assert all(p.input_ids != f.input_ids for p, f in zip(plain, feats))  # off by default


def test_a_tokenizer_without_a_chat_template_is_refused(tiny_tok):
    with pytest.raises(FlanlabError, match="no chat template"):
        chat_prompt(tiny_tok, "hello")
    with pytest.raises(FlanlabError, match="no chat template"):
        tokenize(EXAMPLES, tiny_tok, kind="decoder", chat=True)


def test_chat_template_is_a_config_value_of_training_and_evaluation():
    from flanlab.evaluation.config import EvalConfig
    from flanlab.mixtures.config import MixtureConfig
    from flanlab.training.config import TrainConfig

    assert EvalConfig().chat_template is False and EvalConfig(chat_template=True).chat_template
    tcfg = TrainConfig.model_validate({"mixture": {"chat_template": True}})
    assert tcfg.mixture.chat_template and tcfg.model_dump()["mixture"]["chat_template"]  # in the run's config
    assert MixtureConfig().chat_template is False
