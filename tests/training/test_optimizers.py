"""The trials' optimizers are torch.optim's, minus the torch._dynamo import: the same floats, the
same checkpoints, torch's step hooks still called, and a trial that never imports torch._dynamo."""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap

import pytest
import torch

from hpsearch.space.hyperparams import resolve
from hpsearch.training import optimizers
from hpsearch.training.optimizers import OPTIMIZERS, make_optimizer

STOCK = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
HYPER = {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.01, "beta1": 0.85, "beta2": 0.99, "eps": 1e-6}


def stock_optimizer(name: str, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    h = resolve({"optimizer": name, **HYPER})
    if name == "sgd":
        return STOCK[name](params, lr=h["lr"], momentum=h["momentum"], weight_decay=h["weight_decay"], fused=True)
    return STOCK[name](params, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"], weight_decay=h["weight_decay"], fused=True)


def model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(7, 13), torch.nn.ReLU(), torch.nn.Linear(13, 3))


def train(net: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int) -> None:
    generator = torch.Generator().manual_seed(1)
    for step in range(steps):
        if step == 2:  # the trainer sets each epoch's learning rate this way
            for group in optimizer.param_groups:
                group["lr"] = 0.02
        x, y = torch.randn(9, 7, generator=generator), torch.randint(0, 3, (9,), generator=generator)
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()


def assert_same_state(a: dict, b: dict) -> None:
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for index, entry in a["state"].items():
        for key, value in entry.items():
            assert torch.equal(value, b["state"][index][key]), (index, key)


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_same_floats_and_checkpoints_as_torch_optim(name):
    ours_net, stock_net = model(), model()
    ours = make_optimizer(list(ours_net.parameters()), resolve({"optimizer": name, **HYPER}))
    stock = stock_optimizer(name, list(stock_net.parameters()))
    assert isinstance(ours, STOCK[name]) and type(ours) is not STOCK[name]
    train(ours_net, ours, 5)
    train(stock_net, stock, 5)
    for a, b in zip(ours_net.parameters(), stock_net.parameters(), strict=True):
        assert torch.equal(a, b)
    assert_same_state(ours.state_dict(), stock.state_dict())
    # a checkpoint written by either loads into the other and goes on identically
    resumed_net, resumed_stock_net = model(5), model(5)
    resumed_net.load_state_dict(ours_net.state_dict())
    resumed_stock_net.load_state_dict(stock_net.state_dict())
    resumed = make_optimizer(list(resumed_net.parameters()), resolve({"optimizer": name, **HYPER}))
    resumed.load_state_dict(stock.state_dict())
    resumed_stock = stock_optimizer(name, list(resumed_stock_net.parameters()))
    resumed_stock.load_state_dict(ours.state_dict())
    train(resumed_net, resumed, 3)
    train(resumed_stock_net, resumed_stock, 3)
    for a, b in zip(resumed_net.parameters(), resumed_stock_net.parameters(), strict=True):
        assert torch.equal(a, b)


def test_step_hooks_still_run():
    net = model()
    optimizer = OPTIMIZERS["sgd"](list(net.parameters()), resolve({"optimizer": "sgd"}))
    seen: list[str] = []
    optimizer.register_step_pre_hook(lambda *_: seen.append("pre"))
    optimizer.register_step_post_hook(lambda *_: seen.append("post"))
    net(torch.ones(2, 7)).sum().backward()
    optimizer.step()
    assert seen == ["pre", "post"]
    assert not any(p.grad is None for p in net.parameters())
    optimizer.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_a_trial_never_imports_torch_dynamo():
    """Importing it costs a process 1.2-1.8 s here; nothing a trial does needs it."""
    code = textwrap.dedent("""
        import sys, torch
        from hpsearch.data import load_data
        from hpsearch.space.config import DataConfig
        from hpsearch.space.hyperparams import resolve
        from hpsearch.space.sampler import Trial
        from hpsearch.training.trainer import DeviceData, train_trial
        data = DeviceData.from_dataset(load_data(DataConfig(samples=300)), torch.device("cpu"))
        for name in ("sgd", "adam", "adamw"):
            h = resolve({"optimizer": name, "batch_size": 32, "hidden_units": 8, "batchnorm": True})
            assert train_trial(Trial(0, 1, {}, h), data, 2).status == "completed"
        print("torch._dynamo" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_a_method_wrapped_by_anything_but_torch_keeps_the_stock_class():
    """Only torch's known wrappers are bypassed: whatever else wraps a method may matter."""

    def logged(method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            return method(*args, **kwargs)

        return wrapper

    stock = type("Logged", (torch.optim.SGD,), {"zero_grad": logged(torch.optim.SGD.zero_grad)})
    assert optimizers._without_dynamo(stock) is stock
    assert optimizers._without_dynamo(torch.optim.SGD) is not torch.optim.SGD
