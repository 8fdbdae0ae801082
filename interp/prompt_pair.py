"""The one pair type of the workbench: an original question and its paraphrase as prompts (same image, if
any), with what is known about them. A FlipBank record (`flipbank.records.FlipCase`, on disk, images by
path) becomes a `PromptPair` once its image is loaded (`experiments.steps.flip_pairs.flipbank_pairs`), and the
same object then goes through feature ranking, attribution, patching, the layer sweep and the figures.

>>> pair = PromptPair(PromptInput("Is there an effusion?"), PromptInput("Any fluid at the bases?"))
>>> pair.has_margins, pair.image is None
(False, True)
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from interp.prompts import PromptInput


@dataclass(frozen=True)
class PromptPair:
    """``original`` and ``paraphrase`` prompts; ``flipped`` is the parsed-answer flip when mining knows it,
    and measured margins (logits, yes − no) spare feature ranking a full forward pass."""

    original: PromptInput
    paraphrase: PromptInput
    pair_id: str = ""
    question_id: str = ""
    phenomenon: str = ""
    flipped: bool | None = None
    original_margin: float | None = None
    paraphrase_margin: float | None = None

    @property
    def has_margins(self) -> bool:
        return self.original_margin is not None and self.paraphrase_margin is not None

    @property
    def image(self) -> Image.Image | None:
        """The pair's image (the original's; both prompts show the same one)."""
        return self.original.image
