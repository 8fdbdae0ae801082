"""Which patient an image belongs to, so that a swapped image is another patient's: an explicit
``patient_id`` field wins, else a pattern over the image path (MIMIC-CXR paths carry ``pNN/pNNNNNNNN/``).

>>> patient_from_path("files/p10/p10000032/s50414267/02aa804e.jpg")
'p10000032'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from flipbank.records import QuestionRecord

#: MIMIC-CXR's layout: ``files/p<first two digits>/p<subject id>/s<study id>/<dicom id>.jpg``.
MIMIC_PATIENT_PATTERN = r"(?:^|/)p\d{2}/(p\d+)/"


def patient_from_path(image: str, pattern: str = MIMIC_PATIENT_PATTERN) -> str | None:
    """The patient named by ``pattern`` in an image path: its first group when it has one, else the whole
    match; None when it does not match."""
    match = re.search(pattern, image.replace("\\", "/"))
    if match is None:
        return None
    return match.group(1) if match.re.groups else match.group(0)


def with_patients(
    questions: Sequence[QuestionRecord], pattern: str | None = MIMIC_PATIENT_PATTERN
) -> list[QuestionRecord]:
    """The questions with ``patient`` filled from the image path where the record has none (``pattern``
    None leaves them as they are)."""
    if pattern is None:
        return list(questions)
    re.compile(pattern)  # a bad pattern fails here, before any record is touched
    filled = []
    for question in questions:
        patient = question.patient or patient_from_path(question.image, pattern)
        filled.append(
            question if patient == question.patient else question.model_copy(update={"patient": patient})
        )
    return filled
