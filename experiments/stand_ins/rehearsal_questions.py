"""The rehearsal's questions: a small PSF-Med MIMIC split JSON (``{"results": [...]}``) with MIMIC-CXR image
paths, two questions per study so that swapped images come from another patient, and synthetic grayscale
JPEG radiographs rendered under those paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flipbank.atomic_folder import atomic_path
from flipbank.demo_images import image_path, render_synthetic_image

QUESTIONS_FILE = "mimic_rehearsal.json"
IMAGES_FOLDER = "images"
#: Rendered larger than MedGemma's 896 px and not square, like the real JPEGs, so the processor resizes.
IMAGE_SIZE = 1024
IMAGE_HEIGHT = 880
FINDINGS = (
    "a pleural effusion",
    "a pneumothorax",
    "cardiomegaly",
    "consolidation",
    "pulmonary edema",
    "atelectasis",
    "a rib fracture",
    "pneumonia",
)
ORIGINAL = "Is there evidence of {finding}?"
#: One template per phenomenon, close enough to the original to pass the preset's 0.95 similarity bar
#: (all-MiniLM-L6-v2 cosines 0.95–0.99), so that flipped pairs enter the FlipBank.
PARAPHRASES = (
    ("Is there evidence for {finding}?", "lexical_substitution"),
    ("Is there any evidence at all of {finding}?", "scope_quantification"),
    ("Isn't there evidence of {finding}?", "negation_pattern"),
    ("Of {finding}, is there evidence?", "syntactic_restructuring"),
    ("Is there clear evidence of {finding}?", "specificity_modulation"),
)


def mimic_filename(patient: int, study: int) -> str:
    """A MIMIC-CXR-JPG style path: ``files/p10/p1000000N/sNN/<dicom id>.jpg``."""
    subject = 10000000 + patient
    return f"files/p{str(subject)[:2]}/p{subject}/s{50000000 + study}/{patient:04d}{study:04d}.jpg"


def _record(index: int, n_questions: int, n_paraphrases: int) -> dict[str, Any]:
    patient = index // 2 if n_questions >= 3 else index  # two questions per study, at least two patients
    finding = FINDINGS[index % len(FINDINGS)]
    paraphrases = [PARAPHRASES[(index + k) % len(PARAPHRASES)] for k in range(n_paraphrases)]
    return {
        "question_id": f"rehearsal-{index + 1:04d}",
        "question_type": "presence",
        "answer": "yes" if index % 2 == 0 else "no",
        "filename": mimic_filename(patient, patient),
        "original_question": ORIGINAL.format(finding=finding),
        "paraphrases": [
            {"text": text.format(finding=finding), "phenomenon": phenomenon}
            for text, phenomenon in paraphrases
        ],
        "finding": finding.removeprefix("a ").removeprefix("an "),
    }


def _write_image(root: Path, filename: str) -> None:
    target = image_path(root, filename)
    target.parent.mkdir(parents=True, exist_ok=True)
    picture = render_synthetic_image(filename).image.convert("L").resize((IMAGE_SIZE, IMAGE_SIZE))
    with atomic_path(target) as temporary:
        picture.crop((0, 0, IMAGE_SIZE, IMAGE_HEIGHT)).save(temporary, format="JPEG", quality=90)


def write_rehearsal_questions(folder: Path, n_questions: int, n_paraphrases: int) -> tuple[Path, Path]:
    """Write ``n_questions`` yes/no questions (balanced answers, ``n_paraphrases`` each, at most one per
    phenomenon) and their images into ``folder``; returns (questions JSON, image root)."""
    if n_questions < 2:
        raise ValueError("the swapped-image condition needs at least two questions (two patients)")
    if not 1 <= n_paraphrases <= len(PARAPHRASES):
        raise ValueError(f"n_paraphrases must be between 1 and {len(PARAPHRASES)}")
    records = [_record(index, n_questions, n_paraphrases) for index in range(n_questions)]
    root = folder / IMAGES_FOLDER
    for filename in dict.fromkeys(record["filename"] for record in records):
        _write_image(root, filename)
    path = folder / QUESTIONS_FILE
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps({"results": records}, indent=2) + "\n")
    return path, root
