from pathlib import Path

import numpy as np
import pytest

from flipbank.images import BlankKind, blank_image, load_image, swap_partners


def test_blank_images_are_224_rgb_with_the_documented_values() -> None:
    gray = np.asarray(blank_image(BlankKind.GRAY))
    white = np.asarray(blank_image(BlankKind.WHITE))
    assert gray.shape == white.shape == (224, 224, 3)
    assert (gray == 128).all() and (white == 255).all()


def test_noise_blank_is_seeded_and_near_n128_64() -> None:
    first = np.asarray(blank_image(BlankKind.NOISE, seed=3)).astype(float)
    again = np.asarray(blank_image(BlankKind.NOISE, seed=3)).astype(float)
    other = np.asarray(blank_image(BlankKind.NOISE, seed=4)).astype(float)
    assert (first == again).all() and not (first == other).all()
    assert abs(first.mean() - 128) < 2 and 55 < first.std() < 66  # clipping trims the tails


def test_load_image_resizes_and_converts(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    blank_image(BlankKind.WHITE).resize((50, 30)).convert("L").save(path)
    image = load_image(path)
    assert image.size == (224, 224) and image.mode == "RGB"


def test_load_image_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.png"):
        load_image(tmp_path / "missing.png")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.png: not a readable image"):
        load_image(empty)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match=r"notes\.png"):
        load_image(text)


def test_swap_partners_always_pick_another_image() -> None:
    images = ["a", "a", "b", "c", "c", "d"]
    with pytest.warns(UserWarning, match="6 of 6 samples name no patient"):
        partners = swap_partners(images, seed=1)
    assert all(images[p] != images[i] for i, p in enumerate(partners))
    with pytest.warns(UserWarning):
        assert partners == swap_partners(images, seed=1)


def test_swap_partners_come_from_another_patient() -> None:
    images = [f"study{i}.png" for i in range(8)]
    patients = ["p1", "p1", "p1", "p1", "p1", "p1", "p2", "p3"]  # six studies of one patient
    for seed in range(20):
        partners = swap_partners(images, patients, seed)
        assert all(patients[p] != patients[i] for i, p in enumerate(partners))
    with pytest.raises(ValueError, match=r"no other patient's image to swap in for 'a' \(patient p1\)"):
        swap_partners(["a", "b"], ["p1", "p1"])
    with pytest.raises(ValueError, match="1 patients for 2 images"):
        swap_partners(["a", "b"], ["p1"])


def test_swap_needs_two_distinct_images() -> None:
    with pytest.raises(ValueError, match="two distinct images"):
        swap_partners(["a", "a"])
