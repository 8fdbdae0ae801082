"""Finding boxes from a plain CSV (``image, finding, x1, y1, x2, y2``), in pixels or normalised to [0, 1]
(``units``), validated with the file, row and field of every problem.

>>> import io, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "boxes.csv").write_text("image,finding,x1,y1,x2,y2\\na.png,nodule,0.1,0.2,0.3,0.4\\n")
>>> [record] = read_box_csv(folder / "boxes.csv", units="normalised")
>>> record.finding, record.pixels(width=200, height=100)
('nodule', (20, 20, 60, 40))
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from flipbank.errors import RecordError
from flipbank.grounding import Box

BOX_COLUMNS = ("image", "finding", "x1", "y1", "x2", "y2")
Units = Literal["pixels", "normalised"]


@dataclass(frozen=True)
class BoxRecord:
    """One finding's box on one image; ``x1 < x2`` and ``y1 < y2``, in pixels or fractions of the image."""

    image: str
    finding: str
    x1: float
    y1: float
    x2: float
    y2: float
    units: Units

    def pixels(self, width: int, height: int) -> Box:
        """The box in pixels of a ``width`` × ``height`` image (left, top, right, bottom; rounded out)."""
        scale_x, scale_y = (width, height) if self.units == "normalised" else (1, 1)
        return (
            math.floor(self.x1 * scale_x),
            math.floor(self.y1 * scale_y),
            math.ceil(self.x2 * scale_x),
            math.ceil(self.y2 * scale_y),
        )


def _number(file: str, location: str, row: dict[str, str], field: str) -> float:
    text = (row.get(field) or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise RecordError(file, location, field, f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise RecordError(file, location, field, f"must be a finite number ≥ 0, not {text!r}")
    return value


def _record(file: str, number: int, row: dict[str, str], units: Units) -> BoxRecord:
    location = f"row {number}"
    for field in ("image", "finding"):
        if not (row.get(field) or "").strip():
            raise RecordError(file, location, field, "empty")
    x1, y1, x2, y2 = (_number(file, location, row, field) for field in ("x1", "y1", "x2", "y2"))
    if x2 <= x1 or y2 <= y1:
        raise RecordError(file, location, "x2" if x2 <= x1 else "y2", "the box is empty (x1 < x2, y1 < y2)")
    if units == "normalised" and max(x2, y2) > 1:
        raise RecordError(file, location, "x2" if x2 > 1 else "y2", "a normalised coordinate exceeds 1")
    return BoxRecord(row["image"].strip(), row["finding"].strip(), x1, y1, x2, y2, units)


def read_box_csv(path: str | Path, units: Units = "pixels") -> list[BoxRecord]:
    """Every box of the CSV at ``path`` (rows numbered from 2, the header being row 1)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in BOX_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise RecordError(path.name, "header", None, f"missing column(s) {', '.join(missing)}")
        return [_record(path.name, number, row, units) for number, row in enumerate(reader, start=2)]
