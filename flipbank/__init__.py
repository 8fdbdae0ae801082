"""The data side: question records and their readers, image conditions, answer parsing, the demo bank,
FlipBank curation and the robustness metrics. It never runs a model: importing it loads neither torch nor
the model side (``interp``), so records flow one way, records → prompts → forward → features →
interventions → metrics → figures.

The names a notebook needs first are importable from here (loaded on first use):

>>> from flipbank import flip_rate, load_demo_bank, parse_answer                # doctest: +SKIP
>>> questions = load_demo_bank()                                                 # doctest: +SKIP
>>> parse_answer("Yes, there is a small effusion.").label                        # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flipbank.lazy_exports import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from flipbank.answers import parse_answer
    from flipbank.curation import curate_flipbank
    from flipbank.demo_bank import demo_image_root, load_demo_bank
    from flipbank.images import ImageCondition, blank_image, load_image
    from flipbank.metrics import (
        accuracy,
        condition_agreement,
        flip_rate,
        swap_sensitivity,
        text_only_agreement,
    )
    from flipbank.quadrants import Quadrant, classify_questions, quadrant_summary, yes_no_entropy_bits
    from flipbank.readers import read_flipbank_csv, read_hf_psf_med, read_psf_mimic_json
    from flipbank.records import Answer, FlipCase, MiningRow, Paraphrase, QuestionRecord

_EXPORTS = {
    "Answer": "flipbank.records",
    "FlipCase": "flipbank.records",
    "ImageCondition": "flipbank.images",
    "MiningRow": "flipbank.records",
    "Paraphrase": "flipbank.records",
    "Quadrant": "flipbank.quadrants",
    "QuestionRecord": "flipbank.records",
    "accuracy": "flipbank.metrics",
    "condition_agreement": "flipbank.metrics",
    "blank_image": "flipbank.images",
    "classify_questions": "flipbank.quadrants",
    "curate_flipbank": "flipbank.curation",
    "demo_image_root": "flipbank.demo_bank",
    "flip_rate": "flipbank.metrics",
    "load_demo_bank": "flipbank.demo_bank",
    "load_image": "flipbank.images",
    "parse_answer": "flipbank.answers",
    "quadrant_summary": "flipbank.quadrants",
    "read_flipbank_csv": "flipbank.readers",
    "read_hf_psf_med": "flipbank.readers",
    "read_psf_mimic_json": "flipbank.readers",
    "swap_sensitivity": "flipbank.metrics",
    "text_only_agreement": "flipbank.metrics",
    "yes_no_entropy_bits": "flipbank.quadrants",
}
__all__ = [
    "Answer",
    "FlipCase",
    "ImageCondition",
    "MiningRow",
    "Paraphrase",
    "Quadrant",
    "QuestionRecord",
    "accuracy",
    "blank_image",
    "classify_questions",
    "condition_agreement",
    "curate_flipbank",
    "demo_image_root",
    "flip_rate",
    "load_demo_bank",
    "load_image",
    "parse_answer",
    "quadrant_summary",
    "read_flipbank_csv",
    "read_hf_psf_med",
    "read_psf_mimic_json",
    "swap_sensitivity",
    "text_only_agreement",
    "yes_no_entropy_bits",
]


__getattr__ = _lazy_exports(__name__, _EXPORTS)
