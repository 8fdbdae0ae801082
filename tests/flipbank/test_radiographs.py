"""Tests of the synthetic radiograph renderer: findings appear inside their boxes and nowhere else."""

import numpy as np
import pytest

from flipbank.radiographs import (
    DRAWABLE_FINDINGS,
    SIZE,
    Anatomy,
    lung_mask,
    pneumothorax_region,
    render_radiograph,
)


def _pixels(findings: frozenset[str], seed: int) -> np.ndarray:
    return np.asarray(render_radiograph(findings, seed).image, dtype=np.float64)[..., 0]


def test_a_normal_chest_has_no_boxes_and_looks_like_a_chest():
    picture = render_radiograph(frozenset(), seed=1)
    assert picture.boxes == ()
    pixels = _pixels(frozenset(), 1)
    assert pixels.shape == (SIZE, SIZE)
    lungs = lung_mask(Anatomy.draw(np.random.default_rng(1))) > 0.9
    assert pixels[lungs].mean() < pixels[~lungs].mean() - 20  # dark lung fields in a brighter body


@pytest.mark.parametrize("finding", [f for f in DRAWABLE_FINDINGS if f != "pneumothorax"])
def test_a_finding_brightens_its_box_and_leaves_the_rest(finding):
    seed = 7
    normal, shown = _pixels(frozenset(), seed), _pixels(frozenset({finding}), seed)
    (box,) = render_radiograph(frozenset({finding}), seed).boxes
    left, top, right, bottom = box.box
    assert box.finding == finding and 0 <= left < right <= SIZE and 0 <= top < bottom <= SIZE
    inside = np.zeros((SIZE, SIZE), dtype=bool)
    inside[top:bottom, left:right] = True
    change = shown - normal
    assert change[inside].mean() > 4.0
    assert np.abs(change[~inside]).mean() < 1.0


def test_pneumothorax_removes_lung_markings_beyond_the_pleural_line():
    seed = 11
    anatomy = Anatomy.draw(np.random.default_rng(seed))
    normal, shown = _pixels(frozenset(), seed), _pixels(frozenset({"pneumothorax"}), seed)
    (box,) = render_radiograph(frozenset({"pneumothorax"}), seed).boxes
    assert box.box in (anatomy.lung_box(0), anatomy.lung_box(1))
    side = 0 if box.box == anatomy.lung_box(0) else 1
    regions = [pneumothorax_region(anatomy, side, c) > 0 for c in (0.55, 0.75)]
    beyond = regions[1] & regions[0]  # outside the lung whatever the drawn collapse
    assert shown[beyond].mean() < normal[beyond].mean() - 5


def test_rendering_is_seeded_and_rejects_unknown_findings():
    findings = frozenset({"lung lesion", "support devices"})
    assert np.array_equal(_pixels(findings, 3), _pixels(findings, 3))
    assert not np.array_equal(_pixels(findings, 3), _pixels(findings, 4))
    with pytest.raises(ValueError, match="cannot draw"):
        render_radiograph(frozenset({"fracture"}), 3)
