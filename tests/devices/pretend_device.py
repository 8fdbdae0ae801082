"""Pretend accelerators on a CPU-only machine, to catch device mixing before a GPU does.

Every tensor really lives on the CPU, but a ``TorchFunctionMode`` gives each one a *pretend* device and
enforces PyTorch's device rules on it. A tensor's pretend device is kept in an attribute (none: the CPU).
The mode answers ``tensor.device`` with the pretend device, honours ``.to(device)``, ``.to(other)``,
``.cpu()``, ``type_as`` and ``device=`` arguments of factories, propagates the device through every other
op, and raises ``DeviceMixError`` where a real accelerator would raise: an op whose tensors sit on two
devices (a 0-dim CPU tensor mixes with anything, as in PyTorch), an index tensor on neither the CPU nor the
indexed tensor's device, a value assigned into another device's tensor, or ``.numpy()`` off the CPU.
``torch.autograd.grad`` crosses devices as the real backward pass does: each gradient lands on its input's.

``pretend_placement`` puts a model's parameters, selected decoder layers and SAEs on pretend devices, and
aligns each decoder layer's inputs to its device the way accelerate's ``device_map`` hooks do. The pretend
device type is ``fpga``, which no library branches on, so no CUDA-only code path is taken on the CPU.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from torch.utils import _pytree as pytree

from interp.handle import ModelHandle

PRETEND_TYPE = "fpga"
_ATTRIBUTE = "_pretend_device"
_INDEXING = {Tensor.__getitem__, Tensor.__setitem__}
_MOVES = {Tensor.to, Tensor.cpu, Tensor.type_as}
_FOLLOW_SELF = {Tensor.copy_, Tensor.__deepcopy__}  # copy_ crosses devices; deepcopy's memo holds others


class DeviceMixError(RuntimeError):
    """What a real accelerator would raise: tensors of one op on different devices."""


def pretend_device(index: int) -> torch.device:
    """A pretend accelerator, ``fpga:<index>``."""
    return torch.device(PRETEND_TYPE, index)


def device_name(tensor: Tensor) -> str:
    """The tensor's pretend device, e.g. ``"fpga:1"``, or ``"cpu"``."""
    return str(getattr(tensor, _ATTRIBUTE, "cpu"))


def _is_pretend(device: object) -> bool:
    return isinstance(device, str | torch.device) and torch.device(device).type == PRETEND_TYPE


def _mark(tensor: Tensor, name: str) -> None:
    if name == "cpu":
        if hasattr(tensor, _ATTRIBUTE):
            delattr(tensor, _ATTRIBUTE)
    else:
        setattr(tensor, _ATTRIBUTE, name)


def _tensors(tree: object) -> list[Tensor]:
    return [leaf for leaf in pytree.tree_leaves(tree) if isinstance(leaf, Tensor)]


def _devices(tensors: Iterable[Tensor]) -> set[str]:
    """The devices that count for an op: a 0-dim CPU tensor is a scalar that may meet any device."""
    return {device_name(t) for t in tensors if not (device_name(t) == "cpu" and t.dim() == 0)}


def _name_of(func: Callable[..., Any]) -> str:
    return str(getattr(func, "__qualname__", getattr(func, "__name__", func)))


class PretendDevices(TorchFunctionMode):
    """The mode itself (see the module docstring). ``mixes`` lists every crossing seen, raised or not."""

    def __init__(self, strict_dtypes: bool = False) -> None:
        super().__init__()
        self.mixes: list[str] = []
        self.active = False
        self.strict_dtypes = strict_dtypes

    def __enter__(self) -> PretendDevices:
        self.active = True
        super().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        self.active = False

    def _fail(self, func: Callable[..., Any], message: str) -> DeviceMixError:
        self.mixes.append(f"{_name_of(func)}: {message}")
        return DeviceMixError(f"{message} (when calling {_name_of(func)})")

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: object,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        owner = getattr(func, "__self__", None)
        if owner is Tensor.device:  # the ``tensor.device`` getter
            name = device_name(args[0])
            return torch.device(name) if name != "cpu" else func(*args, **kwargs)
        if func in (Tensor.numpy, Tensor.__array__) and device_name(args[0]) != "cpu":
            raise self._fail(func, f"can't convert {device_name(args[0])} device type tensor to numpy")
        if func in _MOVES:
            return self._move(func, args, kwargs)
        if func is torch.autograd.grad:
            return self._gradients(func, args, kwargs)
        target = self._target(func, args, kwargs)
        real_kwargs = {**kwargs, "device": "cpu"} if _is_pretend(kwargs.get("device")) else kwargs
        result = func(*args, **real_kwargs)
        for tensor in _tensors(result):
            _mark(tensor, target)
        return result

    @staticmethod
    def _gradients(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``torch.autograd.grad`` may cross devices (the backward pass moves gradients between layers on
        different GPUs); each gradient lands on its input's device."""
        inputs = kwargs["inputs"] if "inputs" in kwargs else args[1]
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        result = func(*args, **kwargs)
        for gradient, source in zip(result, inputs, strict=True):
            if gradient is not None:
                _mark(gradient, device_name(source))
        return result

    def _target(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The device of the op's result, after checking that its inputs agree."""
        if kwargs.get("device") is not None:
            return str(torch.device(kwargs["device"]))
        if func in _INDEXING:
            return self._check_indexing(func, args)
        if func in _FOLLOW_SELF:
            return device_name(args[0])
        tensors = _tensors((args, kwargs))
        devices = _devices(tensors)
        if len(devices) > 1:
            raise self._fail(func, f"expected all tensors on one device, found {sorted(devices)}")
        dtypes = {str(t.dtype) for t in tensors if t.is_floating_point() and t.dim() > 0}
        if self.strict_dtypes and len(dtypes) > 1:
            raise self._fail(func, f"expected one floating dtype, found {sorted(dtypes)}")
        if devices:
            return devices.pop()
        return device_name(tensors[0]) if tensors else "cpu"

    def _check_indexing(self, func: Callable[..., Any], args: tuple[Any, ...]) -> str:
        indexed = device_name(args[0])
        for index in _tensors(args[1]):
            if device_name(index) not in ("cpu", indexed):
                raise self._fail(func, f"index on {device_name(index)} into a tensor on {indexed}")
        if func is Tensor.__setitem__ and isinstance(args[2], Tensor):
            values = _devices([args[2]]) - {indexed}
            if values:
                raise self._fail(func, f"assigning a tensor on {values.pop()} into a tensor on {indexed}")
        return indexed

    def _move(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Tensor:
        """``.to`` / ``.cpu`` / ``type_as``: run on the CPU, then give the result its new pretend device."""
        source, target = args[0], device_name(args[0])
        real_args = list(args)
        for position, value in enumerate(args[1:], start=1):
            if isinstance(value, Tensor):
                target = device_name(value)
            elif isinstance(value, str | torch.device):
                target = str(torch.device(value))
                real_args[position] = "cpu"
        if kwargs.get("device") is not None:
            target = str(torch.device(kwargs["device"]))
            kwargs = {**kwargs, "device": "cpu"}
        if func is Tensor.cpu:
            target = "cpu"
        result = func(*real_args, **kwargs)
        if result is source and target != device_name(source):
            result = source.clone()  # a real move copies; the source keeps its device
        _mark(result, target)
        return result


def move(tensor: Tensor, device: str | torch.device) -> Tensor:
    """A copy of ``tensor`` on a pretend (or the real CPU) device; usable outside the mode."""
    moved = tensor.detach().clone()
    _mark(moved, str(torch.device(device)))
    return moved


def _place_module(module: nn.Module, device: str, stack: ExitStack) -> None:
    """Mark a module's parameters and buffers; the marks are undone when ``stack`` closes."""
    for tensor in [*module.parameters(), *module.buffers()]:
        previous = device_name(tensor)
        _mark(tensor, device)
        stack.callback(_mark, tensor, previous)


def _align_inputs(
    device: str, mode: PretendDevices
) -> Callable[..., tuple[tuple[Any, ...], dict[str, Any]] | None]:
    """A forward pre-hook moving a layer's tensor inputs to its device, as accelerate's ``AlignDevicesHook``
    does under ``device_map``; inert while ``mode`` is off."""

    def hook(
        module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        if not mode.active:
            return None

        def align(value: object) -> object:
            if isinstance(value, Tensor) and device_name(value) != device:
                return value.to(device)
            return value

        aligned = pytree.tree_map(align, (args, kwargs))
        return aligned[0], aligned[1]

    return hook


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where the pieces live: the model, decoder layers placed apart from it, and the SAEs (or anything
    with parameters: SAE modules, hand-built feature modules)."""

    name: str
    model: str
    layers: Mapping[int, str] = dataclasses.field(default_factory=dict)
    saes: str = "cpu"


@contextmanager
def pretend_placement(
    handle: ModelHandle, placement: Placement, saes: Iterable[nn.Module] = (), strict_dtypes: bool = False
) -> Iterator[tuple[ModelHandle, PretendDevices]]:
    """Place ``handle``'s model and ``saes`` as ``placement`` says. Yields a handle whose ``device`` is the
    model's input device, and the mode: the placement takes effect inside ``with mode:`` only (outside it
    the marks are inert and the original handle runs as before). ``strict_dtypes`` also fails any op whose
    floating tensors (0-dim scalars aside) differ in dtype, where PyTorch would silently promote: use it
    with a model of one dtype, whose own code then never mixes. Everything is put back on exit."""
    mode = PretendDevices(strict_dtypes)
    with ExitStack() as stack:
        _place_module(handle.model, placement.model, stack)
        for index, device in placement.layers.items():
            _place_module(handle.layers[index], device, stack)
        for sae in saes:
            _place_module(sae, placement.saes, stack)
        for index, layer in enumerate(handle.layers):
            device = placement.layers.get(index, placement.model)
            hook = layer.register_forward_pre_hook(_align_inputs(device, mode), with_kwargs=True)
            stack.callback(hook.remove)
        yield dataclasses.replace(handle, device=torch.device(placement.model)), mode
