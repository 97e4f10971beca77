"""The example accelerate configs in configs/accelerate/ are what accelerate itself reads and launches.

Each file is parsed with accelerate's own loader (`load_config_from_file`, what `accelerate launch
--config_file` calls), validated by the launcher's own argument handling, and every key under
`fsdp_config` / `deepspeed_config` must be an option the launcher knows: accelerate copies unknown keys
silently, so a typo would otherwise be ignored. The FSDP config is followed through to the plugin the
training process builds, which must wrap each decoder layer of flanlab's loss module.
"""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import pytest

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "accelerate"
EXPECTED = {"ddp.yaml": "MULTI_GPU", "fsdp.yaml": "FSDP", "deepspeed_zero2.yaml": "DEEPSPEED"}


def _launch_args(path: Path):
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    parser = launch_command_parser()
    args = parser.parse_args(["--config_file", str(path), "-m", "flanlab", "train"])
    args, defaults, _ = _validate_launch_command(args)
    return parser, args, defaults


def test_the_three_example_configs_ship():
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_accelerate_loads_each_config_with_its_own_loader(name):
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file

    cfg = load_config_from_file(str(CONFIGS / name))
    assert isinstance(cfg, ClusterConfig)
    assert cfg.compute_environment.value == "LOCAL_MACHINE"
    assert cfg.distributed_type.value == EXPECTED[name]
    assert cfg.num_machines == 1 and cfg.num_processes > 1 and not cfg.use_cpu


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_launcher_accepts_each_config_and_knows_every_plugin_key(name):
    parser, args, defaults = _launch_args(CONFIGS / name)
    dests = {a.dest for a in parser._actions}
    kind = EXPECTED[name]
    assert args.multi_gpu if kind == "MULTI_GPU" else args.use_fsdp if kind == "FSDP" else args.use_deepspeed
    for section, prefix in (("fsdp_config", "fsdp_"), ("deepspeed_config", "")):
        for key in getattr(defaults, section) or {}:
            opt = key if key.startswith(prefix) else prefix + key
            assert opt in dests, f"{name}: {section}.{key} is not an `accelerate launch` option"


def test_fsdp_config_wraps_each_decoder_layer_of_the_loss_module():
    """The launcher's environment -> the FSDP plugin the training process builds -> the units it wraps."""
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_multi_gpu_env

    from flanlab.testing import tiny_model
    from flanlab.training.modeling import LossModule

    _, args, _ = _launch_args(CONFIGS / "fsdp.yaml")
    env = prepare_multi_gpu_env(args)
    assert env["ACCELERATE_USE_FSDP"] == "true" and env["FSDP_VERSION"] == "2"
    with mock.patch.dict(os.environ, env):
        plugin = FullyShardedDataParallelPlugin()
    model = tiny_model("llama")
    plugin.set_auto_wrap_policy(LossModule(model, "decoder"))
    wrapped = plugin.auto_wrap_policy.keywords["transformer_layer_cls"]
    assert {c.__name__ for c in wrapped} == {"LlamaDecoderLayer"}
    assert {type(layer) for layer in model.model.layers} == set(wrapped)


def test_deepspeed_config_gives_zero_stage_2_and_leaves_accumulation_to_flanlab():
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import DeepSpeedPlugin

    ds = dict(load_config_from_file(str(CONFIGS / "deepspeed_zero2.yaml")).deepspeed_config)
    plugin = DeepSpeedPlugin(**ds)
    conf = plugin.deepspeed_config
    assert conf["zero_optimization"]["stage"] == 2
    assert conf["gradient_accumulation_steps"] == 1  # flanlab marks the step's last micro-batch itself
    assert plugin.is_auto("train_micro_batch_size_per_gpu")  # filled by training.train.name_deepspeed_batch


def test_flanlab_names_the_deepspeed_micro_batch():
    from types import SimpleNamespace

    from accelerate.utils import DeepSpeedPlugin

    from flanlab.training.config import TrainConfig
    from flanlab.training.train import name_deepspeed_batch

    plugin = DeepSpeedPlugin(zero_stage=2, gradient_accumulation_steps=1)
    acc = SimpleNamespace(state=SimpleNamespace(deepspeed_plugin=plugin))
    name_deepspeed_batch(acc, TrainConfig(batch={"tokens": 1024, "micro_rows": 3}))
    assert plugin.deepspeed_config["train_micro_batch_size_per_gpu"] == 3
