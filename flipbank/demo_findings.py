"""Which findings a synthetic radiograph shows, and the answers they imply: every finding of the demo
vocabulary is either seen in the picture (drawn, or implied by what is drawn) or a text-prior finding that
no picture can show, whose answers the demo VLM can only guess from the question.

>>> image_labels(frozenset({"consolidation"}))["lung opacity"], image_labels(frozenset())["no finding"]
('yes', 'yes')
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from flipbank.radiographs import DRAWABLE_FINDINGS
from flipbank.records import Answer

#: Findings implied by drawn ones (CheXpert's hierarchy; "no finding" = no pathology drawn).
OPACITIES = frozenset({"consolidation", "lung lesion", "edema", "atelectasis"})
PATHOLOGIES = frozenset(DRAWABLE_FINDINGS) - {"support devices"}
IMAGE_FINDINGS = (*DRAWABLE_FINDINGS, "lung opacity", "no finding")

#: Findings no synthetic picture shows, with how often the training set answers "yes" to them: the demo VLM
#: learns these priors from the question text, which is what puts samples in the Dangerous quadrant.
TEXT_PRIOR_FINDINGS: dict[str, float] = {"fracture": 0.15, "pleural other": 0.2, "pneumonia": 0.8}

#: How often each drawable finding is drawn on a training picture.
PREVALENCE = 0.3


def image_labels(drawn: frozenset[str]) -> dict[str, Answer]:
    """The answer every image finding gets on a picture showing ``drawn``."""
    labels: dict[str, Answer] = {finding: _answer(finding in drawn) for finding in DRAWABLE_FINDINGS}
    labels["enlarged cardiomediastinum"] = _answer(
        bool(drawn & {"cardiomegaly", "enlarged cardiomediastinum"})
    )
    labels["lung opacity"] = _answer(bool(drawn & OPACITIES))
    labels["no finding"] = _answer(not drawn & PATHOLOGIES)
    return labels


def _answer(present: bool) -> Answer:
    return "yes" if present else "no"


def agrees(drawn: frozenset[str], required: Mapping[str, Answer]) -> bool:
    """Whether a picture showing ``drawn`` gives every image finding in ``required`` its answer (text-prior
    findings are not the picture's business)."""
    labels = image_labels(drawn)
    return all(labels[finding] == answer for finding, answer in required.items() if finding in labels)


def draw_findings(
    rng: random.Random, required: Mapping[str, Answer] | None = None, prevalence: float = PREVALENCE
) -> frozenset[str]:
    """A random set of drawn findings (each with probability ``prevalence``) whose labels agree with
    ``required``; required positives are drawn, required negatives never. Raises when nothing agrees."""
    required = dict(required or {})
    forced = {f for f, answer in required.items() if answer == "yes" and f in DRAWABLE_FINDINGS}
    banned = {f for f, answer in required.items() if answer == "no" and f in DRAWABLE_FINDINGS}
    optional = [finding for finding in DRAWABLE_FINDINGS if finding not in forced | banned]
    for _ in range(2000):
        drawn = frozenset(forced | {f for f in optional if rng.random() < prevalence})
        if agrees(drawn, required):
            return drawn
    raise ValueError(f"no drawable findings agree with the answers {required}")
