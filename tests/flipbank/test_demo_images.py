"""Tests of the demo bank's synthetic images and their assignment to questions."""

import json
import random

import numpy as np
import pytest
from PIL import Image

from flipbank.demo_bank import DEMO_BANK_PATH, load_demo_bank
from flipbank.demo_findings import agrees
from flipbank.demo_images import (
    ANNOTATIONS_FILE,
    IMAGE_SIZE,
    assign_images,
    demo_image_findings,
    image_path,
    labels_agree,
    render_synthetic_image,
    write_synthetic_images,
)
from flipbank.radiographs import DRAWABLE_FINDINGS
from flipbank.records import Answer


def test_rendering_is_deterministic_and_per_image():
    first = np.asarray(render_synthetic_image("synthetic/p90/p90000001/s1.png").image)
    again = np.asarray(render_synthetic_image("synthetic/p90/p90000001/s1.png").image)
    other = np.asarray(render_synthetic_image("synthetic/p90/p90000001/s2.png").image)
    assert first.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert np.array_equal(first[..., 0], first[..., 1])
    assert first.std() > 10


def test_every_demo_image_shows_what_its_answers_require():
    questions = load_demo_bank()
    findings = demo_image_findings(questions)
    assert set(findings) == {question.image for question in questions}
    for question in questions:
        assert question.finding is not None
        assert agrees(findings[question.image], {question.finding: question.answer})
    assert sum(bool(drawn) for drawn in findings.values()) > len(findings) / 2


def test_demo_bank_images_resolve_after_rendering(tmp_path):
    questions = load_demo_bank()
    written = write_synthetic_images(questions, tmp_path)
    assert len(written) == len({question.image for question in questions})
    with Image.open(written[0]) as image:
        assert image.size == (IMAGE_SIZE, IMAGE_SIZE) and image.mode == "RGB"
    records = load_demo_bank(image_root=tmp_path, path=DEMO_BANK_PATH)
    assert all(record.image.startswith(str(tmp_path)) for record in records)
    first = questions[0].image
    expected = render_synthetic_image(first, demo_image_findings(questions)[first]).image
    assert np.array_equal(np.asarray(Image.open(written[0])), np.asarray(expected))
    annotations = json.loads((tmp_path / ANNOTATIONS_FILE).read_text())
    assert annotations[first]["patient"] == questions[0].patient
    drawn = annotations[first]["findings"]
    assert [box["finding"] for box in annotations[first]["boxes"]] == [
        finding for finding in DRAWABLE_FINDINGS if finding in drawn
    ]


@pytest.mark.parametrize("image_id", ["../escape.png", "/absolute.png", "a/../../b.png", ""])
def test_image_ids_may_not_leave_the_folder(tmp_path, image_id):
    with pytest.raises(ValueError, match="relative path inside"):
        image_path(tmp_path, image_id)


@pytest.mark.parametrize(
    ("labels", "coherent"),
    [
        ({"no finding": "yes", "pneumonia": "no"}, True),
        ({"no finding": "yes", "pneumonia": "yes"}, False),
        ({"pneumonia": "yes", "lung opacity": "no"}, False),
        ({"pneumonia": "yes", "lung opacity": "yes"}, True),
        ({"cardiomegaly": "yes", "enlarged cardiomediastinum": "no"}, False),
        ({"cardiomegaly": "no", "enlarged cardiomediastinum": "yes"}, True),
    ],
)
def test_labels_agree(labels, coherent):
    assert labels_agree(labels) is coherent


def test_assign_images_uses_every_item_once_and_keeps_images_coherent():
    items: list[tuple[str, Answer]] = [
        ("no finding", "yes"),
        ("pneumonia", "yes"),
        ("lung opacity", "no"),
        ("edema", "no"),
    ] * 5
    groups = assign_images(items, random.Random(3))
    assert sorted(index for group in groups for index in group) == list(range(len(items)))
    for group in groups:
        labels = {items[index][0]: items[index][1] for index in group}
        assert len(labels) == len(group)
        assert labels_agree(labels)
