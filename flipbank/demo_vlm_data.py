"""Training data of the demo vision-language model: synthetic studies of patients kept apart from the demo
bank's, and yes/no questions about them in phrasings the demo bank never uses (its originals and paraphrases
stay held out, so paraphrase sensitivity remains measurable on it).

>>> studies = synthetic_studies(n_patients=2, seed=0)
>>> sorted({study.patient for study in studies})
['p91000001', 'p91000002']
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flipbank.demo_findings import IMAGE_FINDINGS, TEXT_PRIOR_FINDINGS, draw_findings, image_labels
from flipbank.demo_templates import PRESENCE_TEMPLATES, capitalise
from flipbank.demo_vocabulary import VOCABULARY
from flipbank.records import Answer

TRAINING_PATIENT_PREFIX = "p91"
"""Training patients' ids start here; the demo bank's start with p90."""
NORMAL_STUDY_RATE = 0.2
"""The share of studies drawn with no finding at all, so that "no finding" gets enough "yes" answers."""

#: "No finding" questions for training, in words the demo bank does not use.
NO_FINDING_PHRASINGS = (
    "Is this chest X-ray free of abnormalities?",
    "Is this a normal study?",
    "Does this chest film look normal?",
    "Is this radiograph normal?",
    "Are there no abnormal findings on this X-ray?",
    "Is the chest normal on this image?",
)


@dataclass(frozen=True)
class SyntheticStudy:
    """One picture: its image id (a MIMIC-like path), patient and drawn findings."""

    image_id: str
    patient: str
    findings: frozenset[str]


@dataclass(frozen=True)
class LabelledQuestion:
    """A training (or evaluation) question about one study's finding, with its answer."""

    study: SyntheticStudy
    question: str
    finding: str
    answer: Answer


def synthetic_studies(
    n_patients: int, seed: int, prefix: str = TRAINING_PATIENT_PREFIX, studies_per_patient: int = 4
) -> list[SyntheticStudy]:
    """``studies_per_patient`` studies for each of ``n_patients`` patients, findings drawn with ``seed``."""
    rng = random.Random(seed)
    studies = []
    for number in range(1, n_patients + 1):
        patient = f"{prefix}{number:06d}"
        for study in range(1, studies_per_patient + 1):
            normal = rng.random() < NORMAL_STUDY_RATE
            findings = draw_findings(rng, prevalence=0.0 if normal else 0.25)
            image_id = f"synthetic/{prefix}/{patient}/s{number:06d}{study:02d}.png"
            studies.append(SyntheticStudy(image_id, patient, findings))
    return studies


def training_phrasings(held_out: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Per finding, presence questions over every term of its vocabulary (no-finding questions from
    `NO_FINDING_PHRASINGS`), without any text in ``held_out``."""
    excluded = set(held_out)
    phrasings: dict[str, tuple[str, ...]] = {}
    for vocabulary in VOCABULARY:
        if vocabulary.name == "no finding":
            texts = list(NO_FINDING_PHRASINGS)
        else:
            terms = [term for synset in vocabulary.synsets for term in synset]
            texts = [capitalise(t.format(**term.forms(""))) for term in terms for t in PRESENCE_TEMPLATES]
        kept = tuple(dict.fromkeys(text for text in texts if text not in excluded))
        if not kept:
            raise ValueError(f"every training phrasing of {vocabulary.name!r} is held out")
        phrasings[vocabulary.name] = kept
    return phrasings


def labelled_questions(
    studies: Sequence[SyntheticStudy], phrasings: dict[str, tuple[str, ...]], per_answer: int, seed: int
) -> list[LabelledQuestion]:
    """``per_answer`` questions for each (image finding, answer), drawn from the studies whose picture gives
    that answer (so Yes and No are balanced per finding), plus ``per_answer`` per text-prior finding with
    answers drawn from its prior; shuffled with ``seed``."""
    rng = random.Random(seed)
    by_label: dict[tuple[str, Answer], list[SyntheticStudy]] = defaultdict(list)
    for study in studies:
        for finding, answer in image_labels(study.findings).items():
            by_label[finding, answer].append(study)
    items = []
    for finding in IMAGE_FINDINGS:
        for answer in ("yes", "no"):
            pool = by_label[finding, answer]
            if not pool:
                raise ValueError(f"no study answers {answer!r} for {finding!r}; draw more studies")
            for study in rng.choices(pool, k=per_answer):
                items.append(LabelledQuestion(study, rng.choice(phrasings[finding]), finding, answer))
    for finding, rate in TEXT_PRIOR_FINDINGS.items():
        for study in rng.choices(list(studies), k=per_answer):
            guess: Answer = "yes" if rng.random() < rate else "no"
            items.append(LabelledQuestion(study, rng.choice(phrasings[finding]), finding, guess))
    rng.shuffle(items)
    return items


def majority_answers(studies: Sequence[SyntheticStudy]) -> dict[str, Answer]:
    """Each finding's more frequent answer over ``studies`` (text-prior findings: over their prior): the
    guess of a model that cannot see the picture."""
    counts: dict[str, int] = defaultdict(int)
    for study in studies:
        for finding, answer in image_labels(study.findings).items():
            counts[finding] += answer == "yes"
    majority: dict[str, Answer] = {f: "yes" if 2 * counts[f] > len(studies) else "no" for f in IMAGE_FINDINGS}
    majority.update({f: "yes" if rate > 0.5 else "no" for f, rate in TEXT_PRIOR_FINDINGS.items()})
    return majority
