"""Grounding scores by hand, and the box CSV reader with located errors."""

import doctest
from pathlib import Path

import numpy as np
import pytest

import flipbank.box_readers
import flipbank.grounding
from flipbank.box_readers import read_box_csv
from flipbank.errors import RecordError
from flipbank.grounding import grounding_scores


def test_scores_by_hand_when_the_map_misses_the_box() -> None:
    heat = np.zeros((10, 10))
    heat[0:2, 0:5] = 1.0  # ten hot pixels in the top rows, the map's top 10 %
    heat[9, 9] = 0.5
    scores = grounding_scores(heat, (5, 5, 10, 10), percentile=90)  # a 5×5 box at the bottom right
    assert scores.coverage == 0.0 and scores.precision == 0.0 and not scores.pointing_hit
    assert scores.mass_in_box == pytest.approx(0.5 / 10.5)


def test_scores_by_hand_when_the_box_holds_part_of_the_region() -> None:
    heat = np.arange(100.0).reshape(10, 10)  # the top 10 % is the last row (90–99)
    scores = grounding_scores(heat, (0, 8, 5, 10), percentile=90)  # rows 8–9, columns 0–4
    assert scores.coverage == pytest.approx(5 / 10) and scores.precision == pytest.approx(5 / 10)
    assert scores.mass_in_box == pytest.approx(heat[8:10, 0:5].sum() / heat.sum())
    assert not scores.pointing_hit  # the maximum (99) is at column 9
    with pytest.raises(ValueError, match="outside"):
        grounding_scores(heat, (20, 20, 30, 30))


def test_the_box_reader_converts_and_names_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "boxes.csv"
    path.write_text("image,finding,x1,y1,x2,y2\na.png,effusion,10,20,50,60\nb.png,nodule,5,5,5,9\n")
    with pytest.raises(RecordError, match=r"boxes\.csv: row 3, field 'x2': the box is empty"):
        read_box_csv(path)
    path.write_text("image,finding,x1,y1,x2,y2\na.png,effusion,10,20,50,sixty\n")
    with pytest.raises(RecordError, match=r"row 2, field 'y2': not a number: 'sixty'"):
        read_box_csv(path)
    path.write_text("image,finding,x1,y1,x2\na.png,effusion,1,2,3\n")
    with pytest.raises(RecordError, match=r"header: missing column\(s\) y2"):
        read_box_csv(path)
    path.write_text("image,finding,x1,y1,x2,y2\na.png,effusion,0.1,0.2,1.5,0.6\n")
    with pytest.raises(RecordError, match="normalised coordinate exceeds 1"):
        read_box_csv(path, units="normalised")
    path.write_text("image,finding,x1,y1,x2,y2\na.png,effusion,10,20,50,60\n")
    (record,) = read_box_csv(path)
    assert record.pixels(224, 224) == (10, 20, 50, 60)


def test_the_docstring_examples_run() -> None:
    assert doctest.testmod(flipbank.grounding).failed == 0
    assert doctest.testmod(flipbank.box_readers).failed == 0
