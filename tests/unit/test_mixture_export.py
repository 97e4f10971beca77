"""`flanlab mixture export --format`: TRL prompt/completion and messages, torchtune, plain JSONL; each export
is read back by its consumer's own loader where that library is installed."""

from __future__ import annotations

import json

import pytest
from mixture_toys import write_toy_data, write_toy_tasks_file

N = 60


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One export of a two-task toy mixture in every format, through the CLI."""
    from flanlab.cli import main
    from flanlab.tasks import catalogue

    d = tmp_path_factory.mktemp("export")
    f = write_toy_tasks_file(d / "toys.yaml")
    write_toy_data(d / "mirror", catalogue([f]), {"toy_a": 40, "toy_b": 30})
    out = d / "run"
    argv = ["mixture", "export", "--out", str(out), "--n", str(N), "--tasks-file", str(f), "--data-dir",
            str(d / "mirror"), "--source", "mirror", "--set", "include=[toy_a,toy_b]", "--seed", "5", "--json",
            "--format", "jsonl", "--format", "trl-prompt-completion,trl-messages", "--format", "torchtune"]
    assert main(argv) == 0
    base = [json.loads(ln) for ln in (out / "mixture.jsonl").read_text().splitlines()]
    return out, base


def _read(path):
    return [json.loads(ln) for ln in path.read_text().splitlines()]


def test_every_format_holds_the_same_examples_in_stream_order(exported):
    out, base = exported
    assert len(base) == N and json.loads((out / "run.json").read_text())["status"] == "finished"
    pc = _read(out / "trl-prompt-completion.jsonl")
    assert [(r["prompt"], r["completion"]) for r in pc] == [(b["inputs"] + "\n", b["targets"]) for b in base]
    msgs = _read(out / "trl-messages.jsonl")
    assert [r["messages"] for r in msgs] == [[{"role": "user", "content": b["inputs"]},
                                              {"role": "assistant", "content": b["targets"]}] for b in base]
    tt = _read(out / "torchtune.jsonl")
    assert [(r["input"], r["output"], r["task"]) for r in tt] == [(b["inputs"], b["targets"], b["task"]) for b in base]
    summary = json.loads((out / "run.json").read_text())["summary"]
    assert summary["formats"] == ["jsonl", "trl-prompt-completion", "trl-messages", "torchtune"]


def test_torchtune_config_section_points_at_the_export(exported):
    import yaml

    out, _ = exported
    ds = yaml.safe_load((out / "torchtune.yaml").read_text())["dataset"]
    assert ds["_component_"] == "torchtune.datasets.instruct_dataset" and ds["source"] == "json"
    assert ds["data_files"] == str((out / "torchtune.jsonl").resolve()) and ds["train_on_input"] is False


def test_unknown_format_is_named_and_writes_nothing(tmp_path, capsys):
    from flanlab.cli import main

    code = main(["mixture", "export", "--out", str(tmp_path / "x"), "--format", "alpaca", "--source", "bundled"])
    assert code == 2 and "alpaca" in capsys.readouterr().err and not (tmp_path / "x").exists()


def _sft(ds, tok, tmp_path, **kw):
    """TRL's own SFTTrainer dataset preparation (tokenization, completion mask) on a tiny model."""
    from trl import SFTConfig, SFTTrainer

    from flanlab.testing import tiny_model

    args = SFTConfig(output_dir=str(tmp_path / "trl"), max_length=256, report_to=[], use_cpu=True, bf16=False,
                     dataset_num_proc=None, **kw)
    return SFTTrainer(model=tiny_model("llama"), args=args, train_dataset=ds, processing_class=tok).train_dataset


def test_trl_sft_prepares_the_prompt_completion_export(exported, tiny_tok, tmp_path):
    pytest.importorskip("trl")
    import datasets

    out, base = exported
    ds = datasets.load_dataset("json", data_files=str(out / "trl-prompt-completion.jsonl"), split="train")
    prepared = _sft(ds, tiny_tok, tmp_path)
    assert prepared.num_rows == N
    for row, b in zip(prepared, base):
        ids = row["input_ids"]
        # TRL marks the loss with a completion mask (older releases) or labels (-100 outside the completion)
        mask = row["completion_mask"] if "completion_mask" in row else [lab != -100 for lab in row["labels"]]
        completion = [t for t, m in zip(ids, mask) if m]
        # the loss covers exactly the target text (and the EOS TRL appends); the prompt is the rendered input
        assert tiny_tok.decode(completion, skip_special_tokens=True) == b["targets"]
        assert tiny_tok.decode(ids, skip_special_tokens=True).startswith(b["inputs"])


def test_trl_sft_prepares_the_messages_export(exported, tmp_path):
    pytest.importorskip("trl")
    import datasets

    from flanlab.testing import tiny_tokenizer

    tok = tiny_tokenizer().__class__.from_pretrained(_saved_tokenizer(tmp_path))
    tok.chat_template = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{{ eos_token }}{% endfor %}"
                         "{% if add_generation_prompt %}<assistant>{% endif %}")
    out, base = exported
    ds = datasets.load_dataset("json", data_files=str(out / "trl-messages.jsonl"), split="train")
    prepared = _sft(ds, tok, tmp_path)
    assert prepared.num_rows == N
    text = tok.decode(prepared[0]["input_ids"])
    assert base[0]["inputs"] in text and base[0]["targets"] in text and text.index(base[0]["inputs"]) < \
        text.index(base[0]["targets"])


def _saved_tokenizer(tmp_path):
    from flanlab.testing import tiny_tokenizer

    tiny_tokenizer().save_pretrained(tmp_path / "tok")
    return tmp_path / "tok"


class _TuneTokenizer:
    """A torchtune ModelTokenizer over the tiny tokenizer: messages -> (tokens, mask), mask = no loss."""

    def __init__(self, tok):
        self.tok = tok

    def tokenize_messages(self, messages):
        tokens, mask = [], []
        for m in messages:
            ids = self.tok(m.text_content, add_special_tokens=False)["input_ids"] + [self.tok.eos_token_id]
            tokens += ids
            mask += [m.masked] * len(ids)
        return tokens, mask

    def __call__(self, sample, inference=False):
        sample["tokens"], sample["mask"] = self.tokenize_messages(sample.pop("messages"))
        return sample


def test_torchtune_instruct_dataset_reads_the_export(exported, tiny_tok):
    pytest.importorskip("torchtune")
    import yaml
    from torchtune.datasets import instruct_dataset

    out, base = exported
    cfg = yaml.safe_load((out / "torchtune.yaml").read_text())["dataset"]
    ds = instruct_dataset(_TuneTokenizer(tiny_tok), source=cfg["source"], data_files=cfg["data_files"],
                          split=cfg["split"], train_on_input=cfg["train_on_input"])
    assert len(ds) == N
    for i in (0, N - 1):
        sample = ds[i]
        target = [t for t, lab in zip(sample["tokens"], sample["labels"]) if lab != -100]
        assert tiny_tok.decode(target, skip_special_tokens=True) == base[i]["targets"]
        assert tiny_tok.decode(sample["tokens"], skip_special_tokens=True).startswith(base[i]["inputs"])
