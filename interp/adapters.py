"""LoRA adapters on a loaded model: any PEFT adapter folder (one trained here, or a published one such as
``saillab/medgemma-4b-targeted-lora-mimic-mt-12k`` from a local folder or the HF cache, offline) is injected
into the handle's model in place, so hooks, SAEs, patching and clamping run on the adapted model unchanged.

>>> from interp import load_model                                       # doctest: +SKIP
>>> handle = with_adapter(load_model("demo-vlm"), "runs/lora/targeted") # doctest: +SKIP
>>> handle.adapter                                                       # doctest: +SKIP
'runs/lora/targeted'
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from peft import PeftModel

from interp.handle import ModelHandle
from interp.loading import decoder_layers


class AdapterMissingError(RuntimeError):
    """Raised when an adapter is neither a local folder nor in the HF cache; says how to get it."""


def _adapter_error(source: str, cause: BaseException) -> AdapterMissingError:
    lines = [
        f"Could not load the adapter {source!r}: {type(cause).__name__}: {str(cause).splitlines()[0]}",
        "Pass a folder that holds adapter_config.json and adapter_model.safetensors (PEFT's format),",
        f"or download a published adapter once: `hf download {source}`",
        "(gated adapters need `hf auth login` and their licence accepted first).",
    ]
    return AdapterMissingError("\n".join(lines))


def with_adapter(handle: ModelHandle, source: str | Path, offline: bool | None = None) -> ModelHandle:
    """``handle`` with the PEFT adapter at ``source`` (a folder or an HF id) injected into its model, which
    is changed in place (load the model again for the base). The adapter's weights go to each adapted
    layer's device and dtype. ``offline`` defaults to ``HF_HUB_OFFLINE``."""
    if offline is None:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    if handle.adapter is not None:
        raise ValueError(f"{handle.spec} already carries the adapter {handle.adapter}; load the model again")
    folder = Path(source)
    if folder.exists() and not (folder / "adapter_config.json").is_file():
        raise AdapterMissingError(f"{folder}: no adapter_config.json (not a PEFT adapter folder)")
    try:
        wrapped = PeftModel.from_pretrained(
            handle.model, str(source), is_trainable=False, local_files_only=offline
        )
    except (OSError, ValueError) as error:
        raise _adapter_error(str(source), error) from error
    if wrapped.get_base_model() is not handle.model:
        raise RuntimeError("PEFT did not inject the adapter in place")
    handle.model.eval()  # its linear layers now carry the adapter
    return replace(handle, layers=decoder_layers(handle.model), adapter=str(source))
