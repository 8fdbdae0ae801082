"""The model side: loading Gemma 3 models, prompts, hooks, the yes-minus-no margin, and interventions.

The names a notebook needs first are importable from here (loaded on first use):

>>> from interp import CHAT_TEMPLATE, PromptInput, ResidCapture, load_model, score_prompts  # doctest: +SKIP
>>> handle = load_model("demo-vlm")                                                        # doctest: +SKIP
>>> with ResidCapture(handle.layers, [9]) as capture:                                      # doctest: +SKIP
...     scores = score_prompts(handle, [PromptInput("Is the heart enlarged?")], CHAT_TEMPLATE)
>>> capture.activations[9].shape  # final-token resid_post of layer 9                       # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flipbank.lazy_exports import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from interp.adapters import with_adapter
    from interp.bridge import resid_post_hook, to_transformer_bridge
    from interp.clamping import clamp_features
    from interp.forward import score_prompts
    from interp.handle import ModelHandle
    from interp.hooks import ResidCapture, ResidEdit
    from interp.loading import load_model
    from interp.patching import patched_margins
    from interp.prompt_pair import PromptPair
    from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput
    from interp.resid_cache import final_token_resid

_EXPORTS = {
    "CHAT_TEMPLATE": "interp.prompts",
    "FEW_SHOT_TEMPLATE": "interp.prompts",
    "ModelHandle": "interp.handle",
    "PromptPair": "interp.prompt_pair",
    "PromptInput": "interp.prompts",
    "ResidCapture": "interp.hooks",
    "ResidEdit": "interp.hooks",
    "clamp_features": "interp.clamping",
    "final_token_resid": "interp.resid_cache",
    "load_model": "interp.loading",
    "patched_margins": "interp.patching",
    "resid_post_hook": "interp.bridge",
    "score_prompts": "interp.forward",
    "to_transformer_bridge": "interp.bridge",
    "with_adapter": "interp.adapters",
}
__all__ = [
    "CHAT_TEMPLATE",
    "FEW_SHOT_TEMPLATE",
    "ModelHandle",
    "PromptInput",
    "PromptPair",
    "ResidCapture",
    "ResidEdit",
    "clamp_features",
    "final_token_resid",
    "load_model",
    "patched_margins",
    "resid_post_hook",
    "score_prompts",
    "to_transformer_bridge",
    "with_adapter",
]


__getattr__ = _lazy_exports(__name__, _EXPORTS)
