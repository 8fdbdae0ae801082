"""The typed, frozen records of the data side: questions with their paraphrases, one mining row per
(question, prompt variant, image condition), and curated flip cases."""

from __future__ import annotations

import math
import unicodedata
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from flipbank.answers import ExclusionReason, LabelSource
from flipbank.images import ImageCondition

Answer = Literal["yes", "no"]
Direction = Literal["yes_to_no", "no_to_yes"]

#: Tolerance on probabilities and cosine similarities computed in float32.
FLOAT_TOLERANCE = 1e-6


def is_blank(text: str) -> bool:
    """True when ``text`` has nothing visible: only whitespace, control and format characters (such as the
    zero-width space U+200B or a byte-order mark)."""
    return all(character.isspace() or unicodedata.category(character) in {"Cc", "Cf"} for character in text)


def _non_blank(text: str) -> str:
    if is_blank(text):
        raise ValueError("text is empty, or only whitespace and invisible characters")
    return text


NonBlankText = Annotated[str, AfterValidator(_non_blank)]

# NaN/inf serialise as the JSON strings "NaN"/"Infinity", which read back exactly.
_RECORD_CONFIG = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="strings")


class Phenomenon(StrEnum):
    """The released PSF-Med phenomenon tags."""

    LEXICAL_SUBSTITUTION = "lexical_substitution"
    SYNTACTIC_RESTRUCTURING = "syntactic_restructuring"
    NEGATION_PATTERN = "negation_pattern"
    SCOPE_QUANTIFICATION = "scope_quantification"
    SPECIFICITY_MODULATION = "specificity_modulation"


class Paraphrase(BaseModel):
    """One paraphrase of a question, tagged with the phenomenon it exercises."""

    model_config = _RECORD_CONFIG

    text: NonBlankText
    phenomenon: Phenomenon


class QuestionRecord(BaseModel):
    """A yes/no question about one image, its ground truth and its paraphrases. `image` is a path
    (resolved against an image root by the readers when one is given) or a synthetic image id. `patient`
    (None when unknown) keeps a swapped image from being another study of the same patient."""

    model_config = _RECORD_CONFIG

    question_id: NonBlankText
    question_type: NonBlankText
    answer: Answer
    image: NonBlankText
    finding: NonBlankText | None
    original_question: NonBlankText
    paraphrases: list[Paraphrase] = Field(min_length=1)
    source: NonBlankText
    patient: NonBlankText | None = None


def direction_of(original_answer: Answer, paraphrase_answer: Answer) -> Direction:
    """The flip direction from the original's answer to the paraphrase's answer."""
    if original_answer == paraphrase_answer:
        raise ValueError("the answers agree, so there is no flip direction")
    return "yes_to_no" if original_answer == "yes" else "no_to_yes"


class FlipCase(BaseModel):
    """A curated FlipBank pair: an original and a paraphrase whose parsed answers
    differ. `direction` is derived from the answers when omitted and must agree with them when
    given."""

    model_config = _RECORD_CONFIG

    question_id: NonBlankText
    image: NonBlankText
    finding: NonBlankText | None
    original_question: NonBlankText
    paraphrase: NonBlankText
    phenomenon: Phenomenon
    original_answer: Answer
    paraphrase_answer: Answer
    original_margin: float = Field(allow_inf_nan=False)
    paraphrase_margin: float = Field(allow_inf_nan=False)
    direction: Direction
    similarity: float = Field(allow_inf_nan=False, ge=-1 - FLOAT_TOLERANCE, le=1 + FLOAT_TOLERANCE)

    @model_validator(mode="before")
    @classmethod
    def _derive_direction(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("direction") is None:
            original, paraphrase = data.get("original_answer"), data.get("paraphrase_answer")
            if original in ("yes", "no") and paraphrase in ("yes", "no") and original != paraphrase:
                return {**data, "direction": direction_of(original, paraphrase)}
        return data

    @model_validator(mode="after")
    def _check_direction(self) -> FlipCase:
        expected = direction_of(self.original_answer, self.paraphrase_answer)
        if self.direction != expected:
            raise ValueError(f"direction {self.direction!r} contradicts the answers ({expected!r})")
        return self


class MiningRow(BaseModel):
    """One model answer: a (question, prompt variant, image condition) triple.

    `variant_index` is 0 for the original question and i + 1 for paraphrase i (then `phenomenon` is
    set). `parsed_answer` is None exactly when `exclusion_reason` is set; `label_source` says what decided
    a parsed answer (None when excluded, or for rows mined before it was recorded). `margin` is
    logit(Yes) - logit(No); `p_yes`/`p_no` are the full-vocabulary next-token probabilities of the
    Yes/No tokens. They are finite when `scores_available` is true and all NaN when it is false
    (a run that produced text but no logits). `greedy_nll` is Σ −log p over the greedy decoder's emitted
    tokens (stop token included; with forced-choice answers still the greedy token's) and `greedy_tokens`
    their number; None in rows mined before they were recorded."""

    model_config = _RECORD_CONFIG

    question_id: NonBlankText
    variant_index: int = Field(ge=0)
    prompt_text: NonBlankText
    phenomenon: Phenomenon | None
    image_condition: ImageCondition
    image: NonBlankText | None
    ground_truth: Answer
    finding: NonBlankText | None
    question_type: NonBlankText
    answer_text: str
    parsed_answer: Answer | None
    exclusion_reason: ExclusionReason | None
    label_source: LabelSource | None = None
    margin: float
    p_yes: float
    p_no: float
    scores_available: bool = True
    greedy_nll: float | None = None
    greedy_tokens: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check_consistency(self) -> MiningRow:
        if (self.variant_index == 0) != (self.phenomenon is None):
            raise ValueError("phenomenon must be None exactly for the original (variant_index 0)")
        if (self.parsed_answer is None) == (self.exclusion_reason is None):
            raise ValueError("exactly one of parsed_answer and exclusion_reason must be set")
        if self.parsed_answer is None and self.label_source is not None:
            raise ValueError("an excluded answer has no label_source")
        if self.image_condition == "none" and self.image is not None:
            raise ValueError("image_condition 'none' must have image None")
        if self.image_condition in ("real", "swapped") and self.image is None:
            raise ValueError(f"image_condition {self.image_condition!r} needs an image")
        self._check_scores()
        return self

    def _check_scores(self) -> None:
        scores = {"margin": self.margin, "p_yes": self.p_yes, "p_no": self.p_no}
        if not self.scores_available:
            if not all(math.isnan(value) for value in scores.values()):
                raise ValueError("margin, p_yes and p_no must be NaN when scores_available is false")
            return
        for name, value in scores.items():
            if not math.isfinite(value):
                raise ValueError(f"{name} is {value} but scores_available is true")
        for name in ("p_yes", "p_no"):
            if not 0.0 <= scores[name] <= 1.0 + FLOAT_TOLERANCE:
                raise ValueError(f"{name} = {scores[name]} is not a probability")
        if self.p_yes + self.p_no > 1.0 + FLOAT_TOLERANCE:
            raise ValueError("p_yes + p_no exceeds 1")


# The round-trip helpers live in `flipbank.record_io`; they are re-exported here for convenience.
from flipbank.record_io import (  # noqa: E402
    read_jsonl,
    read_parquet,
    records_to_frame,
    write_jsonl,
    write_parquet,
)

__all__ = [
    "Answer",
    "Direction",
    "ExclusionReason",
    "FlipCase",
    "ImageCondition",
    "LabelSource",
    "MiningRow",
    "Paraphrase",
    "Phenomenon",
    "QuestionRecord",
    "direction_of",
    "read_jsonl",
    "read_parquet",
    "records_to_frame",
    "write_jsonl",
    "write_parquet",
]
