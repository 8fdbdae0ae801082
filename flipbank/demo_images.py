"""The synthetic images of the demo bank: which demo questions share an image (with answers that agree
clinically), which findings each image shows (those its answers require, and others that change none), and
deterministic rendering of 224×224 radiographs with their finding boxes."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from flipbank.atomic_folder import atomic_path
from flipbank.demo_findings import draw_findings
from flipbank.radiographs import Box, Radiograph, render_radiograph
from flipbank.records import Answer, QuestionRecord

IMAGE_SIZE = 224
ANNOTATIONS_FILE = "annotations.json"
RENDERING_VERSION = 2
"""Bumped whenever the pictures change, so that caches of rendered images are rebuilt."""

#: CheXpert's label hierarchy: a positive child implies a positive parent on the same image.
PARENT_FINDING = {
    "atelectasis": "lung opacity",
    "consolidation": "lung opacity",
    "edema": "lung opacity",
    "lung lesion": "lung opacity",
    "pneumonia": "lung opacity",
    "cardiomegaly": "enlarged cardiomediastinum",
}

#: How many questions an image gets, drawn per image.
GROUP_SIZES = (1, 2, 2, 3, 3, 4)


def labels_agree(labels: dict[str, Answer]) -> bool:
    """Whether one image's answers are clinically coherent: "no finding" excludes every positive
    finding, and a positive child finding needs its parent positive when the parent is asked."""
    positives = {finding for finding, answer in labels.items() if answer == "yes"}
    if "no finding" in positives and len(positives) > 1:
        return False
    return not any(
        child in positives and labels.get(parent) == "no" for child, parent in PARENT_FINDING.items()
    )


def assign_images(items: list[tuple[str, Answer]], rng: random.Random) -> list[list[int]]:
    """Groups (finding, answer) items into images, in order: each image takes the next item, then
    later items with a different finding whose answers stay coherent, up to a drawn group size."""
    remaining = list(range(len(items)))
    groups: list[list[int]] = []
    while remaining:
        size = rng.choice(GROUP_SIZES)
        first = remaining.pop(0)
        group, labels = [first], {items[first][0]: items[first][1]}
        for index in list(remaining):
            finding, answer = items[index]
            trial = {**labels, finding: answer}
            if len(group) < size and finding not in labels and labels_agree(trial):
                group.append(index)
                remaining.remove(index)
                labels = trial
        groups.append(group)
    return groups


def image_seed(image_id: str) -> int:
    """The rendering seed of an image id (stable across machines and Python versions)."""
    return int.from_bytes(hashlib.sha256(image_id.encode("utf-8")).digest()[:8], "little")


def render_synthetic_image(image_id: str, findings: frozenset[str] = frozenset()) -> Radiograph:
    """The radiograph of an image id showing ``findings`` (`flipbank.radiographs`), seeded by the id."""
    return render_radiograph(findings, image_seed(image_id))


def demo_image_findings(questions: Iterable[QuestionRecord]) -> dict[str, frozenset[str]]:
    """For each image of ``questions``, the drawn findings: those its answers require, and random others
    that change none of its answers (drawn with a seed from the image id)."""
    required: dict[str, dict[str, Answer]] = {}
    for question in questions:
        labels = required.setdefault(question.image, {})
        if question.finding is not None:
            labels[question.finding] = question.answer
    return {
        image_id: draw_findings(random.Random(image_seed(image_id)), labels)
        for image_id, labels in required.items()
    }


def image_path(folder: Path, image_id: str) -> Path:
    """Where an image id lives under `folder`; ids must be relative and must not climb out."""
    relative = PurePosixPath(image_id)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"image id must be a relative path inside the folder: {image_id!r}")
    return folder.joinpath(*relative.parts)


def write_synthetic_images(questions: Sequence[QuestionRecord], folder: str | Path) -> list[Path]:
    """Renders each distinct image of ``questions`` (ids relative to ``folder``) to `folder/<image id>` (PNG),
    atomically, and writes `ANNOTATIONS_FILE` beside them: per image its patient, drawn findings and their
    boxes. Returns the image paths in order of first appearance."""
    root = Path(folder)
    patients = {question.image: question.patient for question in questions}
    annotations: dict[str, object] = {}
    written: list[Path] = []
    for image_id, findings in demo_image_findings(questions).items():
        target = image_path(root, image_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        picture = render_synthetic_image(image_id, findings)
        with atomic_path(target) as temporary:
            picture.image.save(temporary, format="PNG")
        annotations[image_id] = {
            "patient": patients[image_id],
            "findings": sorted(findings),
            "boxes": [{"finding": box.finding, "box": list(box.box)} for box in picture.boxes],
        }
        written.append(target)
    with atomic_path(root / ANNOTATIONS_FILE) as temporary:
        temporary.write_text(json.dumps(annotations, indent=1), encoding="utf-8")
    return written


def read_annotations(folder: str | Path) -> dict[tuple[str, str], Box]:
    """The boxes that `write_synthetic_images` wrote into ``folder``, keyed by (image path as the readers
    resolve it under ``folder``, finding)."""
    root = Path(folder)
    annotations = json.loads((root / ANNOTATIONS_FILE).read_text(encoding="utf-8"))
    return {
        (str(image_path(root, image_id)), entry["finding"]): (
            int(entry["box"][0]),
            int(entry["box"][1]),
            int(entry["box"][2]),
            int(entry["box"][3]),
        )
        for image_id, annotation in annotations.items()
        for entry in annotation["boxes"]
    }
