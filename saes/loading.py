"""Owns loading an SAE for a loaded model: from a sae-lens release (online, or offline from the HF cache), a
local Gemma Scope 2 folder or a folder saved by sae-lens, mapped onto the decoder layer whose output it
reads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import try_to_load_from_cache
from sae_lens import SAE
from sae_lens.constants import SAE_CFG_FILENAME, SAE_WEIGHTS_FILENAME
from sae_lens.loading.pretrained_sae_loaders import get_conversion_loader_name
from sae_lens.loading.pretrained_saes_directory import (
    get_config_overrides,
    get_pretrained_saes_directory,
    get_repo_id_and_folder_name,
)
from sae_lens.util import dtype_to_str

from interp.handle import ModelHandle
from saes.gemma_scope_format import (
    CONFIG_FILE,
    PARAMS_FILE,
    gemma_scope_disk_converter,
    is_gemma_scope_folder,
    local_folder_identity,
    resid_post_layer,
)


class SAELoadError(ValueError):
    """Raised when an SAE cannot be found, or does not fit the model it is meant for."""


@dataclass(frozen=True)
class LoadedSAE:
    """A sae-lens SAE on its layer's device (float32 by default, whatever the model's dtype), with the decoder
    layer it reads (``handle.layers[layer]``'s output, i.e. ``resid_post``)."""

    sae: SAE[Any]
    layer: int
    hook_point: str
    source: str

    @property
    def d_sae(self) -> int:
        return int(self.sae.cfg.d_sae)

    @property
    def d_in(self) -> int:
        return int(self.sae.cfg.d_in)


def _cached_release_folder(repo_id: str, folder_name: str, hf_cache_dir: str | Path | None) -> Path | None:
    found = [
        try_to_load_from_cache(repo_id, f"{folder_name}/{name}", cache_dir=hf_cache_dir)
        for name in (CONFIG_FILE, PARAMS_FILE)
    ]
    if not all(isinstance(path, str) for path in found):
        return None
    return Path(str(found[0])).parent  # the snapshot folder (files there are symlinks into blobs/)


def _release_missing(release: str, sae_id: str, repo_id: str, folder_name: str) -> SAELoadError:
    return SAELoadError(
        f"SAE {release}/{sae_id} is not in the local HF cache and offline mode is on. Download it once with "
        f"`hf download {repo_id} --include '{folder_name}/*'` (Gemma Scope 2 is gated: accept its "
        "licence and `hf auth login` first), or pass the downloaded folder itself."
    )


def _from_release(
    release: str, sae_id: str, offline: bool, hf_cache_dir: str | Path | None, dtype: str
) -> tuple[SAE[Any], str]:
    directory = get_pretrained_saes_directory()
    if release not in directory:
        raise SAELoadError(f"unknown sae-lens release {release!r} (see sae_lens/pretrained_saes.yaml)")
    if sae_id not in directory[release].saes_map:
        known = sorted(directory[release].saes_map)
        raise SAELoadError(f"release {release!r} has no SAE {sae_id!r}; e.g. {known[:4]}")
    repo_id, folder_name = get_repo_id_and_folder_name(release, sae_id)
    cached = _cached_release_folder(repo_id, folder_name, hf_cache_dir)
    if cached is not None and get_conversion_loader_name(release) == "gemma_3":
        # SAE.from_pretrained makes HTTP range requests even for cached files (README, Gotchas): convert here.
        converter = gemma_scope_disk_converter(repo_id, folder_name, get_config_overrides(release, sae_id))
        sae = SAE.load_from_disk(cached, device="cpu", dtype=dtype, converter=converter)
        return sae, f"{release}/{sae_id} (HF cache: {cached})"
    if offline:
        raise _release_missing(release, sae_id, repo_id, folder_name)
    return SAE.from_pretrained(release, sae_id, device="cpu", dtype=dtype), f"{release}/{sae_id}"


def _from_folder(folder: Path, dtype: str) -> tuple[SAE[Any], str]:
    if not folder.is_dir():
        raise SAELoadError(f"{folder} is not a folder (to load a sae-lens release, pass sae_id as well)")
    if is_gemma_scope_folder(folder):
        try:
            repo_id, folder_name, _ = local_folder_identity(folder)
        except ValueError as error:
            raise SAELoadError(str(error)) from error
        converter = gemma_scope_disk_converter(repo_id, folder_name)
        return SAE.load_from_disk(
            folder, device="cpu", dtype=dtype, converter=converter
        ), f"{folder} (Gemma Scope 2)"
    if (folder / SAE_CFG_FILENAME).is_file() and (folder / SAE_WEIGHTS_FILENAME).is_file():
        return SAE.load_from_disk(folder, device="cpu", dtype=dtype), f"{folder} (sae-lens)"
    raise SAELoadError(
        f"{folder} holds neither a Gemma Scope 2 SAE ({CONFIG_FILE} + {PARAMS_FILE}) "
        f"nor a sae-lens one ({SAE_CFG_FILENAME} + {SAE_WEIGHTS_FILENAME})"
    )


def _hook_point(sae: SAE[Any]) -> str:
    metadata = sae.cfg.metadata
    for name in (metadata.get("hf_hook_name"), metadata.get("hook_name")):
        if name and resid_post_layer(str(name)) is not None:
            return str(name)
    return str(metadata.get("hf_hook_name") or metadata.get("hook_name"))


def _fit_to_model(sae: SAE[Any], handle: ModelHandle, source: str) -> LoadedSAE:
    hook_point = _hook_point(sae)
    layer = resid_post_layer(hook_point)
    if layer is None:
        raise SAELoadError(f"SAE {source} reads {hook_point!r}, which is not a decoder layer's output")
    if not 0 <= layer < handle.n_layers:
        raise SAELoadError(
            f"SAE {source} reads layer {layer} ({hook_point}), but {handle.spec!r} has {handle.n_layers} "
            f"decoder layers (0–{handle.n_layers - 1})"
        )
    if int(sae.cfg.d_in) != handle.d_model:
        raise SAELoadError(
            f"SAE {source} has d_in {sae.cfg.d_in}, but {handle.spec!r} has d_model {handle.d_model}"
        )
    device = next(handle.layers[layer].parameters()).device  # the layer's own device under device_map="auto"
    sae = sae.to(device=device).eval()
    sae.requires_grad_(False)
    return LoadedSAE(sae=sae, layer=layer, hook_point=hook_point, source=source)


def load_sae(
    source: str | Path,
    handle: ModelHandle,
    sae_id: str | None = None,
    offline: bool | None = None,
    hf_cache_dir: str | Path | None = None,
    dtype: torch.dtype | None = None,
) -> LoadedSAE:
    """Load an SAE for ``handle``: ``source`` is a sae-lens release when ``sae_id`` is given (read from the HF
    cache when cached, else downloaded unless ``offline``, which defaults to ``HF_HUB_OFFLINE``), otherwise
    a local Gemma Scope 2 or sae-lens folder. The SAE is float32 (``dtype`` overrides, e.g. bfloat16 for a
    1M-wide SAE that would not fit), so features are computed in float32 from bf16 activations, on the device
    of the layer it reads; one whose layer does not exist or whose d_in is not d_model is refused."""
    if offline is None:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    dtype_name = dtype_to_str(dtype or torch.float32)
    if sae_id is not None:
        sae, description = _from_release(str(source), sae_id, offline, hf_cache_dir, dtype_name)
    else:
        sae, description = _from_folder(Path(source), dtype_name)
    return _fit_to_model(sae, handle, description)
