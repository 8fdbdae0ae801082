"""Sparse autoencoders: loading Gemma Scope 2 and sae-lens SAEs onto a model, the demo SAEs, feature slices
for encoding and editing, rankings, attribution patching and features on image tokens.

>>> from interp import load_model                                                  # doctest: +SKIP
>>> from saes import demo_sae_config, ensure_demo_sae, feature_slice, load_sae     # doctest: +SKIP
>>> handle = load_model("demo-vlm")                                                # doctest: +SKIP
>>> loaded = load_sae(ensure_demo_sae(config=demo_sae_config("demo-vlm")), handle)  # doctest: +SKIP
>>> features = feature_slice(loaded.sae, [1753])  # decode, encode or clamp one feature  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flipbank.lazy_exports import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from saes.demo_sae import demo_sae_config, ensure_demo_sae
    from saes.features import encode_all, feature_slice
    from saes.loading import LoadedSAE, load_sae

_EXPORTS = {
    "LoadedSAE": "saes.loading",
    "demo_sae_config": "saes.demo_sae",
    "encode_all": "saes.features",
    "ensure_demo_sae": "saes.demo_sae",
    "feature_slice": "saes.features",
    "load_sae": "saes.loading",
}
__all__ = [
    "LoadedSAE",
    "demo_sae_config",
    "encode_all",
    "ensure_demo_sae",
    "feature_slice",
    "load_sae",
]


__getattr__ = _lazy_exports(__name__, _EXPORTS)
