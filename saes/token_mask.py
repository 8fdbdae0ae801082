"""Owns which token positions count in SAE statistics and training: padding never does, BOS does not by
default (a massive residual-stream outlier; see the README's Gotchas), and on multimodal models special and
image tokens do not."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jaxtyping import Bool, Int
from torch import Tensor

from interp.handle import ModelHandle

_IMAGE_TOKEN_ATTRIBUTES = ("image_token_id", "boi_token_id", "eoi_token_id")


@dataclass(frozen=True)
class TokenFilter:
    """Positions to leave out. ``exclude_special=None`` means: only on models that take images (there the
    special set holds the image soft tokens and the start/end-of-image markers). ``extra_token_ids`` are left
    out everywhere (e.g. ``<start_of_turn>`` if a study wants only question words). ``keep_image_tokens``
    keeps the image soft tokens while still leaving out the other special tokens."""

    exclude_bos: bool = True
    exclude_special: bool | None = None
    extra_token_ids: tuple[int, ...] = ()
    keep_image_tokens: bool = False

    def describe(self) -> str:
        """A one-line description for provenance records."""
        special = "auto (multimodal only)" if self.exclude_special is None else str(self.exclude_special)
        return (
            f"exclude_bos={self.exclude_bos}, exclude_special={special}, extra={list(self.extra_token_ids)}"
            + (", image soft tokens kept" if self.keep_image_tokens else "")
        )


DEFAULT_TOKEN_FILTER = TokenFilter()


def special_token_ids(handle: ModelHandle) -> set[int]:
    """The tokenizer's special ids plus the model's image token, start-of-image and end-of-image ids."""
    ids = {int(token) for token in handle.tokenizer.all_special_ids}
    for attribute in _IMAGE_TOKEN_ATTRIBUTES:
        value = getattr(handle.tokenizer, attribute, None)
        if value is None:
            value = getattr(handle.model.config, attribute, None)
        if isinstance(value, int):
            ids.add(value)
    return ids


def excluded_token_ids(handle: ModelHandle, token_filter: TokenFilter) -> set[int]:
    """Every token id that ``token_filter`` leaves out on ``handle``'s model."""
    excluded = {int(token) for token in token_filter.extra_token_ids}
    exclude_special = (
        handle.accepts_images if token_filter.exclude_special is None else token_filter.exclude_special
    )
    if exclude_special:
        excluded |= special_token_ids(handle)
    if token_filter.keep_image_tokens and handle.image_token_id is not None:
        excluded.discard(handle.image_token_id)
    if token_filter.exclude_bos and handle.tokenizer.bos_token_id is not None:
        excluded.add(int(handle.tokenizer.bos_token_id))
    return excluded


def included_positions(
    handle: ModelHandle, inputs: dict[str, Tensor], token_filter: TokenFilter = DEFAULT_TOKEN_FILTER
) -> Bool[Tensor, "batch pos"]:
    """True where a position counts: attended (not padding) and not an excluded token."""
    input_ids: Int[Tensor, "batch pos"] = inputs["input_ids"]
    keep = inputs["attention_mask"].bool()
    excluded = excluded_token_ids(handle, token_filter)
    if excluded:
        excluded_ids = torch.tensor(sorted(excluded), device=input_ids.device)
        keep = keep & ~torch.isin(input_ids, excluded_ids)
    return keep
