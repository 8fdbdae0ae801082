"""Context managers on decoder layers: capture the residual stream after chosen layers (``resid_post``), with
an optional early stop, and edit it with a function. Hooks are always removed on exit, also on exceptions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Literal

from jaxtyping import Float
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

Positions = Literal["last", "all"]
DecoderLayers = nn.ModuleList | Sequence[nn.Module]
ResidEditFunction = Callable[[Float[Tensor, "batch pos d_model"]], Float[Tensor, "batch pos d_model"]]


class StopForward(Exception):  # noqa: N818 (a control-flow signal, not an error)
    """Raised inside a hook to end the forward pass once every wanted layer has run."""


def _hidden_of(output: object) -> Tensor:
    if isinstance(output, Tensor):
        return output
    if isinstance(output, tuple) and output and isinstance(output[0], Tensor):
        return output[0]
    raise TypeError(f"decoder layer returned {type(output).__name__}; expected a tensor or tuple")


def _with_hidden(output: object, hidden: Tensor) -> object:
    if isinstance(output, tuple):
        return (hidden, *output[1:])
    return hidden


def _check_layer_indices(layers: DecoderLayers, indices: Iterable[int]) -> list[int]:
    checked = sorted(set(indices))
    for index in checked:
        if not 0 <= index < len(layers):
            raise IndexError(f"layer {index} does not exist; the model has {len(layers)} layers")
    return checked


class _LayerHooks:
    """Registers forward hooks and removes every one of them on exit."""

    def __init__(self) -> None:
        self._handles: list[RemovableHandle] = []

    def _register(self, module: nn.Module, hook: Callable[..., object]) -> None:
        self._handles.append(module.register_forward_hook(hook))

    def _remove_all(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


class ResidCapture(_LayerHooks):
    """Capture ``resid_post`` of ``layer_indices`` into ``activations[layer]``.

    ``positions="last"`` keeps only the final position (the last prompt token under left padding);
    ``to_cpu`` moves captures off the accelerator; ``stop_early`` ends the forward pass right after the
    deepest captured layer (the model returns nothing; the exception is swallowed on exit).
    """

    def __init__(
        self,
        layers: DecoderLayers,
        layer_indices: Iterable[int],
        positions: Positions = "last",
        to_cpu: bool = False,
        stop_early: bool = False,
    ) -> None:
        super().__init__()
        self.layers = layers
        self.layer_indices = _check_layer_indices(layers, layer_indices)
        self.positions = positions
        self.to_cpu = to_cpu
        self.stop_early = stop_early
        self.activations: dict[int, Tensor] = {}

    def _make_hook(self, index: int, is_deepest: bool) -> Callable[..., None]:
        def hook(module: nn.Module, args: object, output: object) -> None:
            hidden = _hidden_of(output).detach()
            kept = hidden[:, -1, :] if self.positions == "last" else hidden
            self.activations[index] = kept.cpu() if self.to_cpu else kept
            if is_deepest and self.stop_early:
                raise StopForward

        return hook

    def __enter__(self) -> ResidCapture:
        self.activations = {}
        deepest = max(self.layer_indices)
        for index in self.layer_indices:
            self._register(self.layers[index], self._make_hook(index, index == deepest))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        self._remove_all()
        return exc_type is StopForward


class ResidEdit(_LayerHooks):
    """Replace ``resid_post`` of each layer in ``edits`` by ``edit(resid)`` during the forward pass.

    The edit receives the layer's full ``[batch, pos, d_model]`` output on the layer's own device (so edits
    work under ``device_map="auto"``) and must return a tensor of the same shape.
    """

    def __init__(self, layers: DecoderLayers, edits: Mapping[int, ResidEditFunction]) -> None:
        super().__init__()
        self.layers = layers
        self.edits = dict(edits)
        _check_layer_indices(layers, self.edits)

    def _make_hook(self, edit: ResidEditFunction) -> Callable[..., object]:
        def hook(module: nn.Module, args: object, output: object) -> object:
            hidden = _hidden_of(output)
            edited = edit(hidden)
            if edited.shape != hidden.shape:
                raise ValueError(f"edit changed resid shape {tuple(hidden.shape)} → {tuple(edited.shape)}")
            return _with_hidden(output, edited.to(device=hidden.device, dtype=hidden.dtype))

        return hook

    def __enter__(self) -> ResidEdit:
        for index, edit in self.edits.items():
            self._register(self.layers[index], self._make_hook(edit))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._remove_all()
