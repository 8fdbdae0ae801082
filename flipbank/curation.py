"""FlipBank curation: keep the original/paraphrase pairs whose parsed answers flip, whose
answers both parse without hedging, and whose similarity is above a threshold; summarise the result."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from flipbank.records import FlipCase, QuestionRecord, direction_of
from flipbank.similarity import SentenceSimilarity

PAPER_SIMILARITY_THRESHOLD = 0.95


@dataclass(frozen=True)
class CurationConfig:
    """Which image condition's answers to compare, and the similarity bar (the paper's 0.95 is on the
    BioClinicalBERT scale; other embedding models need their own calibration)."""

    image_condition: str = "none"
    similarity_threshold: float = PAPER_SIMILARITY_THRESHOLD


@dataclass(frozen=True)
class CurationResult:
    """The curated cases, with how many candidate pairs each criterion removed."""

    cases: list[FlipCase]
    pairs_considered: int
    removed_excluded_answer: int
    removed_no_flip: int
    removed_low_similarity: int
    similarity_model: str


def answer_pairs(rows: pd.DataFrame, image_condition: str) -> pd.DataFrame:
    """One row per (question, paraphrase) under ``image_condition``: both answers, margins and texts."""
    condition_rows = rows[rows["image_condition"] == image_condition]
    columns = ["question_id", "prompt_text", "parsed_answer", "margin"]
    originals = condition_rows[condition_rows["variant_index"] == 0][columns]
    paraphrases = condition_rows[condition_rows["variant_index"] > 0]
    return paraphrases.merge(originals, on="question_id", suffixes=("", "_original"), validate="many_to_one")


def _flip_case(pair: pd.Series, question: QuestionRecord, similarity: float) -> FlipCase:
    return FlipCase(
        question_id=question.question_id,
        image=question.image,
        finding=question.finding,
        original_question=pair["prompt_text_original"],
        paraphrase=pair["prompt_text"],
        phenomenon=pair["phenomenon"],
        original_answer=pair["parsed_answer_original"],
        paraphrase_answer=pair["parsed_answer"],
        original_margin=float(pair["margin_original"]),
        paraphrase_margin=float(pair["margin"]),
        direction=direction_of(pair["parsed_answer_original"], pair["parsed_answer"]),
        similarity=min(max(similarity, -1.0), 1.0),
    )


def curate_flipbank(
    rows: pd.DataFrame,
    questions: Sequence[QuestionRecord],
    similarity: SentenceSimilarity,
    settings: CurationConfig,
) -> CurationResult:
    """Select the FlipBank from mining rows; similarity is computed only for pairs that flip."""
    pairs = answer_pairs(rows, settings.image_condition)
    parsed = pairs["parsed_answer"].notna() & pairs["parsed_answer_original"].notna()
    flipped = parsed & (pairs["parsed_answer"] != pairs["parsed_answer_original"])
    candidates = pairs[flipped]
    scores = similarity.pairwise(list(candidates["prompt_text_original"]), list(candidates["prompt_text"]))
    keep = scores > settings.similarity_threshold
    by_id = {question.question_id: question for question in questions}
    cases = [
        _flip_case(pair, by_id[pair["question_id"]], float(score))
        for (_, pair), score, kept in zip(candidates.iterrows(), scores, keep, strict=True)
        if kept
    ]
    return CurationResult(
        cases=cases,
        pairs_considered=len(pairs),
        removed_excluded_answer=int((~parsed).sum()),
        removed_no_flip=int((parsed & ~flipped).sum()),
        removed_low_similarity=int((~keep).sum()),
        similarity_model=similarity.name,
    )


@dataclass(frozen=True)
class FlipBankSummary:
    """Counts that describe a FlipBank: size, directions, findings, phenomena, unique images."""

    size: int
    directions: dict[str, int]
    findings: dict[str, int]
    phenomena: dict[str, int]
    unique_images: int

    def format(self) -> str:
        def counts(values: dict[str, int]) -> str:
            return ", ".join(f"{key} {value}" for key, value in sorted(values.items(), key=lambda kv: -kv[1]))

        return (
            f"FlipBank: {self.size} pairs, {self.unique_images} unique images\n"
            f"  directions: {counts(self.directions)}\n"
            f"  phenomena:  {counts(self.phenomena)}\n"
            f"  findings:   {counts(self.findings)}"
        )


def summarise_flipbank(cases: Sequence[FlipCase]) -> FlipBankSummary:
    """Directions (Yes→No / No→Yes), findings, phenomena and unique images of ``cases``."""
    return FlipBankSummary(
        size=len(cases),
        directions=dict(Counter(case.direction for case in cases)),
        findings=dict(Counter(case.finding or "unknown" for case in cases)),
        phenomena=dict(Counter(case.phenomenon.value for case in cases)),
        unique_images=len({case.image for case in cases}),
    )
