import doctest
import json
import re
from pathlib import Path

import pytest

import flipbank.padchest_gr
from flipbank.errors import RecordError
from flipbank.padchest_gr import read_padchest_gr

STUDIES = [
    {
        "StudyID": "s1",
        "ImageID": "a.png",
        "findings": [
            {
                "sentence_en": "Cardiomegaly and left effusion.",
                "abnormal": True,
                "labels": ["cardiomegaly", "pleural effusion"],
                "boxes": [[0.25, 0.5, 0.75, 0.9]],
                "extra_boxes": [[0.2, 0.5, 0.8, 0.9]],
                "locations": [],
                "progression": None,
            },
            {
                "sentence_en": "No pneumothorax.",
                "abnormal": False,
                "labels": [],
                "boxes": [],
                "extra_boxes": [],
            },
        ],
    },
    {
        "StudyID": "s2",
        "ImageID": "b.png",
        "findings": [
            {"abnormal": True, "labels": ["nodule"], "boxes": [], "extra_boxes": [[0.1, 0.1, 0.2, 0.3]]}
        ],
    },
]


def _write(tmp_path: Path, studies: object) -> Path:
    path = tmp_path / "grounded_reports_20240819.json"
    path.write_text(json.dumps(studies))
    return path


def test_each_abnormal_findings_box_becomes_one_record_per_label(tmp_path: Path) -> None:
    path = _write(tmp_path, STUDIES)
    first = read_padchest_gr(path)
    assert [(r.image, r.finding) for r in first] == [("a.png", "cardiomegaly"), ("a.png", "pleural effusion")]
    assert first[0].pixels(width=400, height=200) == (100, 100, 300, 180)
    second = read_padchest_gr(path, readers="second")
    assert [(r.image, r.finding, r.x1) for r in second] == [
        ("a.png", "cardiomegaly", 0.2),
        ("a.png", "pleural effusion", 0.2),
        ("b.png", "nodule", 0.1),
    ]
    assert len(read_padchest_gr(path, readers="both")) == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ImageID": ""}, "study 1 (StudyID 's2'), field 'ImageID': a non-empty string"),
        ({"findings": "none"}, "study 1 (StudyID 's2'), field 'findings': a list"),
        (
            {"findings": [{"abnormal": True, "labels": ["nodule"], "boxes": [[0.1, 0.1, 1.2, 0.3]]}]},
            "study 1 (StudyID 's2'), finding 0, field 'boxes': coordinates must be numbers in [0, 1]",
        ),
        (
            {"findings": [{"abnormal": True, "labels": ["nodule"], "boxes": [[0.3, 0.1, 0.2, 0.3]]}]},
            "finding 0, field 'boxes': the box [0.3, 0.1, 0.2, 0.3] is empty",
        ),
        (
            {"findings": [{"abnormal": True, "labels": "nodule", "boxes": []}]},
            "field 'labels': a list of strings",
        ),
    ],
)
def test_a_bad_study_is_refused_naming_the_study_and_field(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    broken = [STUDIES[0], {**STUDIES[1], **change}]
    with pytest.raises(RecordError, match=re.escape(message)):
        read_padchest_gr(_write(tmp_path, broken))


def test_a_file_that_is_not_a_list_of_studies_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="whole file: a list of studies is expected"):
        read_padchest_gr(_write(tmp_path, {"studies": []}))
    path = tmp_path / "broken.json"
    path.write_text("[{")
    with pytest.raises(RecordError, match=r"broken.json: line 1, column 3"):
        read_padchest_gr(path)


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(flipbank.padchest_gr).failed == 0
