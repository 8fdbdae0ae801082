"""The uniform model handle every other module works with, whatever the model spec was."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase, ProcessorMixin

from interp.answer_tokens import YesNoTokens, resolve_yes_no_tokens


@dataclass
class ModelHandle:
    """A loaded model with everything needed to prompt it, hook it and read its yes-minus-no margin.

    ``layers`` are the decoder layers whose outputs are the residual stream after each layer
    (``resid_post``). ``processor`` is set only for models that take images. ``adapter`` names the PEFT
    adapter injected into ``model`` (`interp.adapters.with_adapter`), if any.
    """

    spec: str
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    processor: ProcessorMixin | None
    layers: nn.ModuleList
    n_layers: int
    d_model: int
    accepts_images: bool
    device: torch.device
    dtype: torch.dtype
    revision: str | None = None
    adapter: str | None = None
    _yes_no_cache: dict[bool, YesNoTokens] = field(default_factory=dict, repr=False)

    def yes_no_tokens(self, leading_space: bool) -> YesNoTokens:
        """Yes/No token ids, with or without the leading space (see ``resolve_yes_no_tokens``)."""
        if leading_space not in self._yes_no_cache:
            self._yes_no_cache[leading_space] = resolve_yes_no_tokens(self.tokenizer, leading_space)
        return self._yes_no_cache[leading_space]

    @property
    def image_token_id(self) -> int | None:
        """The id of the image soft token, on models that take images."""
        value = getattr(self.model.config, "image_token_id", None)
        return int(value) if value is not None and self.accepts_images else None
