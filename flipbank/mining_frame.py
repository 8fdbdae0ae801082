"""Checked access to a DataFrame of mining rows (the columns of `MiningRow`) for the metrics: column
and value validation, per-condition selection, and answers coded as 1.0 (yes), 0.0 (no) or NaN
(excluded or missing)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from flipbank.records import MiningRow

MINING_COLUMNS: tuple[str, ...] = tuple(MiningRow.model_fields)
IMAGE_CONDITIONS = ("real", "blank", "swapped", "none")
_ANSWER_CODES = {"yes": 1.0, "no": 0.0}


def require_columns(frame: pd.DataFrame, columns: Iterable[str]) -> None:
    """Raises a ValueError naming the mining-row columns the frame lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"mining frame lacks columns {missing}")


def answer_codes(values: pd.Series) -> pd.Series:
    """yes -> 1.0, no -> 0.0, missing (None/NaN/NA) -> NaN; any other value is a ValueError."""
    present = values.notna().to_numpy(dtype=bool)
    text = values.astype(object)
    unknown = present & ~text.isin(list(_ANSWER_CODES)).to_numpy(dtype=bool)
    if unknown.any():
        found = sorted({str(value) for value in text[unknown]})
        raise ValueError(f"answers must be 'yes', 'no' or missing, got {found}")
    codes = np.where(text.to_numpy() == "yes", 1.0, 0.0)
    return pd.Series(np.where(present, codes, np.nan), index=values.index, dtype=np.float64)


def condition_rows(frame: pd.DataFrame, image_condition: str, columns: Iterable[str]) -> pd.DataFrame:
    """The rows of one image condition with `answer` (coded parsed answer) added. A (question_id,
    variant_index) pair that occurs twice under one condition is a ValueError."""
    if image_condition not in IMAGE_CONDITIONS:
        raise ValueError(f"image_condition must be one of {IMAGE_CONDITIONS}, got {image_condition!r}")
    needed = ["question_id", "variant_index", "image_condition", "parsed_answer", *columns]
    require_columns(frame, needed)
    rows = frame.loc[frame["image_condition"] == image_condition, list(dict.fromkeys(needed))]
    duplicated = rows.duplicated(["question_id", "variant_index"])
    if duplicated.any():
        first = rows.loc[duplicated].iloc[0]
        raise ValueError(
            f"question {first['question_id']!r} variant {first['variant_index']} occurs more than "
            f"once under image condition {image_condition!r}"
        )
    rows = rows.assign(
        question_id=rows["question_id"].astype(str),
        variant_index=rows["variant_index"].astype(np.int64),
        answer=answer_codes(rows["parsed_answer"]),
    )
    return rows.drop(columns=["parsed_answer", "image_condition"]).reset_index(drop=True)


def per_question_originals(rows: pd.DataFrame, column: str) -> pd.Series:
    """`column` of each question's original (variant 0) row, indexed by question_id."""
    originals = rows.loc[rows["variant_index"] == 0]
    return pd.Series(originals[column].to_numpy(), index=originals["question_id"].to_numpy())


def first_paraphrases(rows: pd.DataFrame, count: int | None) -> pd.DataFrame:
    """Each question's paraphrase rows, limited to its first `count` by variant_index (all when
    None)."""
    paraphrases = rows.loc[rows["variant_index"] > 0]
    if count is None:
        return paraphrases
    order = paraphrases.groupby("question_id")["variant_index"].rank(method="first")
    return paraphrases.loc[order <= count]
