"""The optional peer libraries of the benchmarks (transformer-lens's TransformerBridge, sae-lens's bridge with
SAEs, nnsight), each wrapped around its own copy of a loaded model; imported lazily, never by the core."""

from __future__ import annotations

import importlib.util
from typing import Any

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from interp.handle import ModelHandle
from interp.loading import load_model, resolve_spec_folder

INSTALL_HINT = "install the peers with `bash benchmarks/setup_peers.sh`"


def missing_peers() -> list[str]:
    """The peer packages that are not installed."""
    return [name for name in ("transformer_lens", "nnsight") if importlib.util.find_spec(name) is None]


def _tokenizer(spec: str) -> PreTrainedTokenizerBase:
    """The spec's tokenizer, loaded from its folder (the bridge needs one read from a directory)."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_spec_folder(spec))
    tokenizer.padding_side = "left"
    return tokenizer


def _own_copy(handle: ModelHandle) -> ModelHandle:
    """A second copy of the model: booting a bridge replaces the decoder layers of the model it wraps."""
    copy = load_model(handle.spec, device=handle.device, dtype=handle.dtype)
    if not copy.model.config.architectures:
        copy.model.config.architectures = [type(copy.model).__name__]
    return copy


def transformer_bridge(handle: ModelHandle) -> Any:
    """transformer-lens's ``TransformerBridge`` around a fresh copy of ``handle``'s model."""
    from transformer_lens.model_bridge import TransformerBridge

    copy = _own_copy(handle)
    return TransformerBridge.boot_transformers(
        handle.spec, hf_model=copy.model, tokenizer=_tokenizer(handle.spec)
    )


def sae_bridge(handle: ModelHandle) -> Any:
    """sae-lens's ``SAETransformerBridge`` around a fresh copy of ``handle``'s model. It is a bridge of its
    own: in sae-lens 6.54 its ``run_with_cache`` returns an empty cache, so captures use the plain one."""
    from sae_lens.analysis.sae_transformer_bridge import SAETransformerBridge

    copy = _own_copy(handle)
    return SAETransformerBridge.boot_transformers(
        handle.spec, hf_model=copy.model, tokenizer=_tokenizer(handle.spec)
    )


def nnsight_model(handle: ModelHandle) -> Any:
    """nnsight's ``TransformersModel`` around ``handle``'s own model (nnsight hooks only inside a trace)."""
    from nnsight import TransformersModel

    return TransformersModel(handle.model, task="text-generation", tokenizer=_tokenizer(handle.spec))
