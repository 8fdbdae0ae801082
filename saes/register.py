"""Owns the register (formal vs casual) label of a paraphrase pair: defined only on the register axis, i.e.
pairs whose phenomenon is ``specificity_modulation``, by a small keyword heuristic on the paraphrase
(pure)."""

from __future__ import annotations

import re

REGISTER_PHENOMENON = "specificity_modulation"
NOT_ON_REGISTER_AXIS = "other"

#: Radiology-report wording: these push a question towards the formal register.
FORMAL_MARKERS = (
    "radiograph",
    "radiographic",
    "radiographically",
    "demonstrate",
    "evidence of",
    "consistent with",
    "compatible with",
    "examination",
    "the study",
    "imaging findings",
    "features of",
    "frontal",
    "evident",
)
#: Conversational wording: these push a question towards the casual register.
CASUAL_MARKERS = (
    "here",
    "this one",
    "x-ray",
    "or not",
    "spot",
    "to you",
    "got",
    "quick",
    "film",
    "scan",
    "see",
    "look like",
    "any",
)


def _count(text: str, markers: tuple[str, ...]) -> int:
    return sum(len(re.findall(rf"\b{re.escape(marker)}\b", text)) for marker in markers)


def formality_score(text: str) -> int:
    """Number of formal markers minus number of casual markers (whole-word, case-insensitive)."""
    lowered = text.lower()
    return _count(lowered, FORMAL_MARKERS) - _count(lowered, CASUAL_MARKERS)


def pair_register(phenomenon: str, paraphrase: str) -> str:
    """``formal`` / ``casual`` / ``neutral`` (score > 0, < 0, = 0) for a ``specificity_modulation`` pair, by
    the paraphrase's formality score; ``other`` for pairs of every other phenomenon (not on the register
    axis)."""
    if phenomenon != REGISTER_PHENOMENON:
        return NOT_ON_REGISTER_AXIS
    score = formality_score(paraphrase)
    if score > 0:
        return "formal"
    return "casual" if score < 0 else "neutral"
