"""The pretend-device mode enforces PyTorch's device rules (and, when strict, one dtype) on CPU tensors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import FEW_SHOT_TEMPLATE, PromptInput, encode_prompts
from tests.devices.pretend_device import (
    DeviceMixError,
    Placement,
    PretendDevices,
    device_name,
    move,
    pretend_device,
    pretend_placement,
)


def test_an_op_on_two_devices_raises_and_an_explicit_move_fixes_it() -> None:
    weight = move(torch.randn(4, 3), "fpga:1")
    x = torch.randn(2, 4)
    with PretendDevices() as mode:
        with pytest.raises(DeviceMixError, match=r"\['cpu', 'fpga:1'\].*matmul"):
            x @ weight
        out = x.to(weight.device) @ weight
        assert out.device == pretend_device(1) and device_name(out) == "fpga:1"
        assert device_name(x.to(weight)) == "fpga:1" and device_name(out.cpu()) == "cpu"
        assert device_name(torch.zeros(3, device=out.device)) == "fpga:1"
        assert device_name(torch.zeros_like(out)) == "fpga:1"
    assert len(mode.mixes) == 1


def test_gradients_cross_devices_and_land_on_their_inputs() -> None:
    with PretendDevices() as mode:
        leaf = torch.randn(2, 4, device="fpga:1").requires_grad_(True)
        weight = torch.randn(4, 3, device="fpga:1")
        out = (leaf @ weight).to("fpga:0").sum()
        (gradient,) = torch.autograd.grad(out, [leaf])
        assert device_name(gradient) == "fpga:1"
    assert mode.mixes == []


def test_moves_copy_and_leave_the_source_where_it_was() -> None:
    x = torch.ones(3)
    with PretendDevices():
        moved = x.to("fpga:0")
        moved += 1
        assert device_name(x) == "cpu" and torch.equal(x, torch.ones(3))
        assert device_name(moved.to("fpga:0")) == "fpga:0"


def test_cpu_scalars_mix_with_any_device_but_numpy_needs_the_cpu() -> None:
    x = move(torch.ones(3), "fpga:0")
    with PretendDevices():
        assert device_name(x * torch.tensor(2.0)) == "fpga:0"
        with pytest.raises(DeviceMixError, match="numpy"):
            x.numpy()
        assert x.cpu().numpy().sum() == 3


def test_indexing_takes_cpu_or_same_device_indices_only() -> None:
    x = move(torch.arange(6.0), "fpga:0")
    with PretendDevices():
        assert device_name(x[torch.tensor([0, 2])]) == "fpga:0"
        with pytest.raises(DeviceMixError, match="index on fpga:1"):
            x[move(torch.tensor([0]), "fpga:1")]
        with pytest.raises(DeviceMixError, match="assigning a tensor on cpu"):
            x[torch.tensor([0, 1])] = torch.ones(2)


def test_strict_dtypes_fail_silent_promotion() -> None:
    x, y = torch.ones(3), torch.ones(3, dtype=torch.float64)
    with PretendDevices():
        assert (x + y).dtype == torch.float64
    with PretendDevices(strict_dtypes=True), pytest.raises(DeviceMixError, match="one floating dtype"):
        x + y


def test_a_placement_moves_layer_inputs_and_is_undone_on_exit(tiny_handle: ModelHandle) -> None:
    placement = Placement("split", model="fpga:0", layers={2: "fpga:1"})
    inputs = encode_prompts(tiny_handle, [PromptInput("Is there an effusion?")], FEW_SHOT_TEMPLATE)
    hooks_before = [len(layer._forward_pre_hooks) for layer in tiny_handle.layers]
    with pretend_placement(tiny_handle, placement) as (handle, mode):
        assert handle.device == pretend_device(0)
        with mode, ResidCapture(handle.layers, [1, 2, 3]) as capture, torch.no_grad():
            handle.model(**{name: value.to(handle.device) for name, value in inputs.items()})
        assert [device_name(capture.activations[i]) for i in (1, 2, 3)] == ["fpga:0", "fpga:1", "fpga:0"]
        assert mode.mixes == []
    assert [len(layer._forward_pre_hooks) for layer in tiny_handle.layers] == hooks_before
    parameters: list[nn.Parameter] = list(tiny_handle.model.parameters())
    assert {device_name(parameter) for parameter in parameters} == {"cpu"}
