"""Owns the Gemma Scope 2 on-disk format (a folder with ``config.json`` and ``params.safetensors``): reading
it offline through sae-lens's own Gemma 3 converter, and writing a sae-lens JumpReLU SAE in it."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import torch
from sae_lens import JumpReLUSAE, JumpReLUTrainingSAE
from sae_lens.loading import pretrained_sae_loaders
from safetensors import safe_open
from safetensors.torch import save_file

DiskConverter = Callable[..., tuple[dict[str, Any], dict[str, torch.Tensor]]]
"""sae-lens's ``PretrainedSaeDiskLoader`` as a plain callable (run-time checks cannot read its protocol)."""

CONFIG_FILE = "config.json"
PARAMS_FILE = "params.safetensors"
_RESID_POST_HOOK = re.compile(
    r"^(?:model\.)?(?:language_model\.)?(?:model\.)?layers\.(?P<layer>\d+)\.output$"
    r"|^blocks\.(?P<block>\d+)\.hook_resid_post$"
)
# sae-lens's loader module is shared process state: one redirected load at a time.
_HUB_REDIRECT_LOCK = threading.Lock()


def is_gemma_scope_folder(folder: Path) -> bool:
    """True when ``folder`` holds a Gemma Scope 2 SAE (config.json + params.safetensors)."""
    return (folder / CONFIG_FILE).is_file() and (folder / PARAMS_FILE).is_file()


def resid_post_layer(hook_point: str) -> int | None:
    """The decoder layer whose output (``resid_post``) ``hook_point`` names, or None for any other hook.

    Accepts the HF names Gemma Scope 2 uses (``model.layers.17.output``, also for the multimodal model
    whose real path is ``model.language_model.layers.17``) and TransformerLens names
    (``blocks.17.hook_resid_post``)."""
    match = _RESID_POST_HOOK.match(hook_point)
    if match is None:
        return None
    return int(match.group("layer") or match.group("block"))


def read_gemma_scope_config(folder: Path) -> dict[str, Any]:
    """The raw ``config.json`` of a Gemma Scope 2 folder."""
    config: dict[str, Any] = json.loads((folder / CONFIG_FILE).read_text())
    return config


def _tensor_shapes(params: Path) -> dict[str, list[int]]:
    with safe_open(str(params), framework="pt") as handle:
        return {name: list(handle.get_slice(name).get_shape()) for name in handle.keys()}  # noqa: SIM118


@contextmanager
def _hub_reads_from(folder: Path) -> Iterator[None]:
    """Point the two hub reads of sae-lens's Gemma 3 loader (file download and the HTTP range request for
    tensor shapes) at ``folder`` for the duration of the block. Nothing else of sae-lens is touched, and both
    names are restored on exit, also on errors."""

    def local_file(repo_id: str, filename: str, subfolder: str | None = None, **_: Any) -> str:
        path = folder / Path(filename).name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing (needed for {repo_id}/{subfolder or ''}{filename})")
        return str(path)

    def local_shapes(repo_id: str, filename: str) -> dict[str, list[int]]:
        return _tensor_shapes(folder / Path(filename).name)

    with (
        _HUB_REDIRECT_LOCK,
        mock.patch.object(pretrained_sae_loaders, "hf_hub_download", local_file),
        mock.patch.object(pretrained_sae_loaders, "get_safetensors_tensor_shapes", local_shapes),
    ):
        yield


def gemma_scope_disk_converter(
    repo_id: str, folder_name: str, extra_overrides: dict[str, Any] | None = None
) -> DiskConverter:
    """A ``SAE.load_from_disk`` converter that runs sae-lens's own ``gemma_3_sae_huggingface_loader`` on a
    local folder. ``repo_id``/``folder_name`` are what that loader derives the model name, layer and hook
    type from (the release's own values for a cached release)."""

    def convert(
        path: str | Path, device: str, cfg_overrides: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        overrides = {**(extra_overrides or {}), **(cfg_overrides or {})}
        with _hub_reads_from(Path(path)):
            cfg, state, _ = pretrained_sae_loaders.gemma_3_sae_huggingface_loader(
                repo_id=repo_id, folder_name=folder_name, device=device, cfg_overrides=overrides
            )
        return cfg, state

    return convert


def local_folder_identity(folder: Path) -> tuple[str, str, int]:
    """The (repo_id, folder_name, layer) under which a local Gemma Scope 2 folder is handed to sae-lens's
    converter, derived from its ``hf_hook_point_in``; refuses anything but a resid_post SAE."""
    config = read_gemma_scope_config(folder)
    missing = [key for key in ("architecture", "hf_hook_point_in", "model_name") if key not in config]
    if missing:
        raise ValueError(f"{folder / CONFIG_FILE} lacks {missing}; not a Gemma Scope 2 config")
    hook_point = str(config["hf_hook_point_in"])
    layer = resid_post_layer(hook_point)
    if layer is None:
        raise ValueError(
            f"{folder} reads {hook_point!r}; only residual-stream SAEs (model.layers.N.output) are supported"
        )
    return f"local/{folder.name}", f"resid_post/layer_{layer}", layer


def save_gemma_scope_folder(
    sae: JumpReLUSAE | JumpReLUTrainingSAE,
    folder: Path,
    layer: int,
    model_name: str,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write ``sae`` as a Gemma Scope 2 folder reading ``model.layers.{layer}.output`` (float32 weights).

    The format has no input-side ``b_dec`` subtraction and no activation normalisation, so an SAE that uses
    either is refused (sae-lens folds a trained normalisation into the weights at the end of training).
    """
    if sae.cfg.apply_b_dec_to_input or sae.cfg.normalize_activations != "none":
        raise ValueError(
            "Gemma Scope 2 format needs apply_b_dec_to_input=False and normalize_activations='none'"
        )
    folder.mkdir(parents=True, exist_ok=True)
    params = {
        "w_enc": sae.W_enc,
        "w_dec": sae.W_dec,
        "b_enc": sae.b_enc,
        "b_dec": sae.b_dec,
        "threshold": sae.threshold,
    }
    tensors = {name: value.detach().float().cpu().contiguous() for name, value in params.items()}
    save_file(tensors, folder / PARAMS_FILE)
    config = {
        "architecture": "jump_relu",
        "type": "sae",
        "model_name": model_name,
        "width": sae.cfg.d_sae,
        "hf_hook_point_in": f"model.layers.{layer}.output",
        "hf_hook_point_out": f"model.layers.{layer}.output",
        "affine_connection": False,
        **(extra or {}),
    }
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
