"""PadChest-GR's grounded reports (``grounded_reports_20240819.json``) as finding boxes: a list of studies,
each with ``StudyID``, ``ImageID`` and ``findings``; a finding has its sentence, ``abnormal``, ``labels`` and
the boxes of two readers (``boxes`` and ``extra_boxes``, each ``[x1, y1, x2, y2]`` normalised to [0, 1]).
Every abnormal finding's box becomes one `BoxRecord` per label; problems name the study and field.

>>> import json, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "grounded_reports.json"
>>> study = {"StudyID": "s1", "ImageID": "im1.png", "findings": [{"sentence_en": "Cardiomegaly.",
...     "abnormal": True, "labels": ["cardiomegaly"], "boxes": [[0.3, 0.4, 0.7, 0.8]], "extra_boxes": []}]}
>>> _ = path.write_text(json.dumps([study]))
>>> [record] = read_padchest_gr(path)
>>> record.image, record.finding, record.pixels(width=100, height=100)
('im1.png', 'cardiomegaly', (30, 40, 70, 80))
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from flipbank.box_readers import BoxRecord
from flipbank.errors import RecordError
from flipbank.text_files import parse_json, read_utf8

Readers = Literal["first", "second", "both"]
_READER_FIELDS = {"first": ("boxes",), "second": ("extra_boxes",), "both": ("boxes", "extra_boxes")}


def _box(file: str, location: str, field: str, value: Any) -> tuple[float, float, float, float]:
    if not (isinstance(value, list) and len(value) == 4):
        raise RecordError(file, location, field, f"a box is [x1, y1, x2, y2], not {value!r}")
    if not all(isinstance(c, int | float) and math.isfinite(c) and 0 <= c <= 1 for c in value):
        raise RecordError(file, location, field, f"coordinates must be numbers in [0, 1], not {value!r}")
    x1, y1, x2, y2 = (float(c) for c in value)
    if x2 <= x1 or y2 <= y1:
        raise RecordError(file, location, field, f"the box {value!r} is empty (x1 < x2, y1 < y2)")
    return x1, y1, x2, y2


def _finding_records(
    file: str, location: str, image: str, finding: dict[str, Any], fields: tuple[str, ...]
) -> list[BoxRecord]:
    labels = finding.get("labels")
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise RecordError(file, location, "labels", f"a list of strings, not {labels!r}")
    records = []
    for field in fields:
        boxes = finding.get(field) or []
        if not isinstance(boxes, list):
            raise RecordError(file, location, field, f"a list of boxes, not {boxes!r}")
        for box in boxes:
            x1, y1, x2, y2 = _box(file, location, field, box)
            records += [BoxRecord(image, label, x1, y1, x2, y2, "normalised") for label in labels]
    return records


def _study_records(file: str, number: int, study: Any, fields: tuple[str, ...]) -> list[BoxRecord]:
    if not isinstance(study, dict):
        raise RecordError(file, f"study {number}", None, "not an object")
    location = f"study {number} (StudyID {study.get('StudyID')!r})"
    image, findings = study.get("ImageID"), study.get("findings")
    if not isinstance(image, str) or not image.strip():
        raise RecordError(file, location, "ImageID", f"a non-empty string, not {image!r}")
    if not isinstance(findings, list):
        raise RecordError(file, location, "findings", f"a list, not {findings!r}")
    records = []
    for index, finding in enumerate(findings):
        where = f"{location}, finding {index}"
        if not isinstance(finding, dict):
            raise RecordError(file, where, None, "not an object")
        if finding.get("abnormal") is True:
            records += _finding_records(file, where, image.strip(), finding, fields)
    return records


def read_padchest_gr(path: str | Path, readers: Readers = "first") -> list[BoxRecord]:
    """The boxes of every abnormal finding in a PadChest-GR grounded-reports file, from the first reader
    (``boxes``), the second (``extra_boxes``) or both; studies numbered from 0 in file order."""
    path = Path(path)
    studies = parse_json(path, read_utf8(path))
    if not isinstance(studies, list):
        raise RecordError(path.name, "whole file", None, "a list of studies is expected")
    fields = _READER_FIELDS[readers]
    return [
        record for n, study in enumerate(studies) for record in _study_records(path.name, n, study, fields)
    ]
