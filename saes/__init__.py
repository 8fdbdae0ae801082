"""Sparse autoencoders: loading Gemma Scope 2 and sae-lens SAEs onto a model, the demo SAEs, feature slices
for encoding and editing, rankings, attribution patching and features on image tokens.

>>> from interp import load_model                                                  # doctest: +SKIP
>>> from saes import demo_sae_config, ensure_demo_sae, feature_slice, load_sae     # doctest: +SKIP
>>> handle = load_model("demo-vlm")                                                # doctest: +SKIP
>>> loaded = load_sae(ensure_demo_sae(config=demo_sae_config("demo-vlm")), handle)  # doctest: +SKIP
>>> features = feature_slice(loaded.sae, [464])  # decode, encode or clamp one feature  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flipbank.lazy_exports import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from saes.demo_sae import demo_sae_config, ensure_demo_sae
    from saes.exploration import token_activations, top_activating_tokens
    from saes.features import encode_all, feature_slice, reconstruct
    from saes.image_features import image_token_features, top_activating_images
    from saes.loading import LoadedSAE, load_sae
    from saes.pairs import pairs_from_psf_json
    from saes.ranking import collect_pair_activations, rank_pairs

_EXPORTS = {
    "LoadedSAE": "saes.loading",
    "collect_pair_activations": "saes.ranking",
    "demo_sae_config": "saes.demo_sae",
    "encode_all": "saes.features",
    "ensure_demo_sae": "saes.demo_sae",
    "feature_slice": "saes.features",
    "image_token_features": "saes.image_features",
    "load_sae": "saes.loading",
    "pairs_from_psf_json": "saes.pairs",
    "rank_pairs": "saes.ranking",
    "reconstruct": "saes.features",
    "token_activations": "saes.exploration",
    "top_activating_images": "saes.image_features",
    "top_activating_tokens": "saes.exploration",
}
__all__ = [
    "LoadedSAE",
    "collect_pair_activations",
    "demo_sae_config",
    "encode_all",
    "ensure_demo_sae",
    "feature_slice",
    "image_token_features",
    "load_sae",
    "pairs_from_psf_json",
    "rank_pairs",
    "reconstruct",
    "token_activations",
    "top_activating_images",
    "top_activating_tokens",
]


__getattr__ = _lazy_exports(__name__, _EXPORTS)
