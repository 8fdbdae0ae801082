"""Where a study's questions come from: the shipped demo bank (with its synthetic images rendered into the
cache when a model takes images), or the PSF-Med formats pointed at the user's files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from flipbank.demo_bank import DEMO_BANK_PATH, REPHRASED_BANK, demo_image_root, load_demo_bank
from flipbank.patients import MIMIC_PATIENT_PATTERN, with_patients
from flipbank.question_rows import ReadResult
from flipbank.readers import read_flipbank_csv, read_hf_psf_med, read_psf_mimic_json
from flipbank.record_checks import RecordScreen, screen_records
from flipbank.records import QuestionRecord
from flipbank.row_fields import describe_row

SourceKind = Literal["demo", "demo-rephrased", "psf-mimic-json", "flipbank-csv", "hf-psf-med"]
#: The shipped banks: the demo bank, and a smaller one in other phrasings on other patients.
SHIPPED_BANKS = {"demo": DEMO_BANK_PATH, "demo-rephrased": REPHRASED_BANK.path}


def path_fingerprint(path: Path) -> str:
    """What a question file holds: the sha256 of its bytes. For a folder (a local copy of an HF dataset,
    which can be large) the sha256 of each file's relative name, size and modification time, hidden files
    and folders (``.cache`` …) left out: replacing or touching a file changes it, and so does copying the
    folder (new times). ``missing`` when nothing is at ``path`` (the preflight then names the problem)."""
    if path.is_file():
        with path.open("rb") as handle:
            return f"sha256:{hashlib.file_digest(handle, 'sha256').hexdigest()}"
    if not path.is_dir():
        return "missing"
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if file.is_file() and not any(part.startswith(".") for part in relative.parts):
            stat = file.stat()
            digest.update(f"{relative.as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return f"folder-sha256:{digest.hexdigest()}"


@dataclass(frozen=True)
class QuestionsConfig:
    """A question set: ``kind`` with its ``path`` and ``image_root`` (unused for the demo bank).
    ``patient_pattern`` finds the patient in an image path where a record names none (MIMIC-CXR's
    ``pNN/pNNNNNNNN/`` by default; None: only explicit ``patient_id`` fields)."""

    kind: SourceKind = "demo"
    path: Path | None = None
    image_root: Path | None = None
    hf_config: str = "mimic"
    limit: int | None = None
    skip_invalid: bool = False
    patient_pattern: str | None = MIMIC_PATIENT_PATTERN

    def fingerprint(self) -> str | None:
        """The content fingerprint of the question file or folder (`path_fingerprint`); None for the shipped
        demo bank, which is part of the code."""
        return None if self.kind in SHIPPED_BANKS or self.path is None else path_fingerprint(self.path)

    def describe(self) -> str:
        where = "" if self.path is None else f":{self.path}"
        return f"{self.kind}{where}" + ("" if self.limit is None else f"[:{self.limit}]")


def _read(source: QuestionsConfig) -> ReadResult:
    if source.path is None:
        raise ValueError(f"question source {source.kind!r} needs a path (--questions)")
    root, skip = source.image_root, source.skip_invalid
    if source.kind == "psf-mimic-json":
        return read_psf_mimic_json(source.path, image_root=root, skip_invalid=skip)
    if source.kind == "flipbank-csv":
        return read_flipbank_csv(source.path, image_root=root, skip_invalid=skip)
    return read_hf_psf_med(source.path, config=source.hf_config, image_root=root, skip_invalid=skip)


def read_source(source: QuestionsConfig, with_images: bool) -> ReadResult:
    """Every question of ``source`` (``limit`` not applied) with the records its reader skipped and where
    each record is; for the demo bank, image paths resolve when ``with_images``."""
    if source.kind in SHIPPED_BANKS:
        path = SHIPPED_BANKS[source.kind]
        root = demo_image_root(path=path) if with_images else None
        questions = load_demo_bank(image_root=root, path=path)
        locations = {q.question_id: describe_row(i, q.question_id) for i, q in enumerate(questions, 1)}
        return ReadResult(questions, [], f"demo bank (flipbank/data/{path.name})", locations)
    result = _read(source)
    return replace(result, records=with_patients(result.records, source.patient_pattern))


def load_questions(
    source: QuestionsConfig, with_images: bool, screen: RecordScreen | None = None
) -> list[QuestionRecord]:
    """The questions of ``source``; for the demo bank, image paths resolve when ``with_images``. With
    ``skip_invalid``, records that fail a preflight check of ``screen`` (default: images checked when
    ``with_images``) are skipped too. Skipped records are reported, never dropped silently."""
    result = read_source(source, with_images)
    for skipped in result.skipped:
        print(f"skipped {skipped.describe()}")
    questions = result.records if source.limit is None else result.records[: source.limit]
    if not source.skip_invalid:
        return questions
    screened = screen_records(questions, result, screen or RecordScreen(check_images=with_images))
    for problem in screened.problems:
        print(f"skipped {problem.describe()}")
    return screened.kept
