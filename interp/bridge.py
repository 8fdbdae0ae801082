"""TransformerLens interop: a ``TransformerBridge`` (or sae-lens's ``SAETransformerBridge``) over a copy of
a loaded handle's model, booted offline from local files, so TransformerLens-style analyses
(``run_with_cache``, ``run_with_hooks``, sae-lens's ``run_with_saes``) run on the same weights (adapters
included) as the workbench.

Layer map: the workbench's layer ``L`` (0-based decoder layer; its ``resid_post`` is the layer's output) is
TransformerLens's ``blocks.{L}.hook_resid_post`` (`resid_post_hook`). They agree on text prompts (tested).
On image prompts transformer-lens 3.9 does not reproduce Gemma 3's attention: the positions before the
image block agree, those from the image on differ (tested, with the size of the gap), so read image-prompt
activations from the workbench's own hooks.

Why a copy: booting switches the model it wraps to eager attention and replaces its decoder layers and
vision tower with TransformerLens modules, which changes that model's image-prompt activations; the
handle must keep giving the workbench's numbers. The copy costs the model's memory once more.

>>> bridge = to_transformer_bridge(handle)                                          # doctest: +SKIP
>>> inputs = encode_prompts(handle, [PromptInput("Is the heart enlarged?")], CHAT_TEMPLATE)  # doctest: +SKIP
>>> _, cache = bridge.run_with_cache(inputs["input_ids"], attention_mask=inputs["attention_mask"],
...                                  names_filter=resid_post_hook(9))               # doctest: +SKIP
>>> cache[resid_post_hook(9)].shape  # (batch, pos, d_model)                        # doctest: +SKIP
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from huggingface_hub import snapshot_download
from transformers import AutoProcessor

from interp.handle import ModelHandle
from interp.loading import resolve_spec_folder


class BridgeSourceError(RuntimeError):
    """The files a bridge boots from are not on this machine (it never downloads, nor installs packages)."""


def resid_post_hook(layer: int) -> str:
    """TransformerLens's hook name for the workbench's ``resid_post`` of ``layer``."""
    return f"blocks.{layer}.hook_resid_post"


def bridge_source(spec: str) -> str:
    """A local folder with the model's config, tokenizer and (for image models) processor files: a built-in
    spec's cache folder, a local path, or an HF id's snapshot already in the HF cache (never downloaded)."""
    folder = resolve_spec_folder(spec)
    if Path(folder).is_dir():
        return folder
    try:
        return str(snapshot_download(folder, local_files_only=True))
    except Exception as error:  # huggingface_hub raises several types for "not cached"
        raise BridgeSourceError(
            f"{spec!r} is not a local folder nor in the HF cache; download it on a machine with access first"
        ) from error


def _check_processor(handle: ModelHandle, source: str) -> None:
    """TransformerLens loads an image model's processor from ``source`` and, where that fails, tries to
    ``pip install torchvision``; fail first, with the folder named, so that it never gets there."""
    if handle.processor is None:
        return
    try:
        AutoProcessor.from_pretrained(source)
    except Exception as error:
        raise BridgeSourceError(f"the image processor does not load from {source}: {error}") from error


def to_transformer_bridge(handle: ModelHandle, with_saes: bool = False) -> Any:
    """A ``TransformerBridge`` over a copy of ``handle.model`` (sae-lens's ``SAETransformerBridge`` with
    ``with_saes``, for ``add_sae`` and ``run_with_saes``), booted from `bridge_source` without network
    access or package installs; the copy keeps the handle's placement, dtype and adapter, and the handle
    itself is left untouched."""
    if with_saes:
        from sae_lens.analysis.sae_transformer_bridge import SAETransformerBridge as Bridge
    else:
        from transformer_lens.model_bridge import TransformerBridge as Bridge
    source = bridge_source(handle.spec)
    _check_processor(handle, source)
    model = copy.deepcopy(handle.model)
    if (
        not model.config.architectures
    ):  # a model built in memory (the stand-ins) has none; the bridge needs it
        model.config.architectures = [type(model).__name__]
    return Bridge.boot_transformers(
        source,
        hf_model=model,
        tokenizer=handle.tokenizer,
        device=str(handle.device),
        dtype=handle.dtype,
    )
