"""The seeded generator of the demo question bank `flipbank/data/demo_bank.json` (PSF-Med MIMIC JSON
format, so the real reader reads it) and its loader. `python -m flipbank.demo_bank` regenerates the
committed file byte for byte; `--check` only compares."""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from flipbank.atomic_folder import atomic_path, build_folder_atomically
from flipbank.cache_dir import workbench_cache_dir
from flipbank.demo_images import RENDERING_VERSION, assign_images, write_synthetic_images
from flipbank.demo_templates import (
    ABNORMALITY_TEMPLATES,
    CASUAL_TEMPLATES,
    FORMAL_TEMPLATES,
    GRADED_SCOPE_TEMPLATES,
    PHENOMENON_TEMPLATES,
    PRESENCE_TEMPLATES,
    capitalise,
)
from flipbank.demo_vocabulary import (
    NO_FINDING_PARAPHRASES,
    NO_FINDING_QUESTIONS,
    VOCABULARY,
    FindingVocabulary,
    HandWritten,
    Term,
)
from flipbank.patients import with_patients
from flipbank.readers import read_psf_mimic_json
from flipbank.records import Answer, Paraphrase, Phenomenon, QuestionRecord

DEMO_SEED = 20260221
DEMO_QUESTION_COUNT = 240
DEMO_SOURCE = "demo"
DEMO_BANK_PATH = Path(__file__).parent / "data" / "demo_bank.json"


@dataclass(frozen=True)
class DemoBankConfig:
    """A generated question bank: its file, seed, size, patients' id prefix (``p<prefix>…``) and question id
    prefix."""

    path: Path
    seed: int
    count: int
    patient_prefix: str = "90"
    id_prefix: str = "demo"


DEMO_BANK = DemoBankConfig(DEMO_BANK_PATH, DEMO_SEED, DEMO_QUESTION_COUNT)
#: A second, smaller bank in other phrasings (another seed draws other templates and synonyms), on patients
#: of its own (p93…): the second evaluation set of the configuration comparison.
REPHRASED_BANK = DemoBankConfig(
    DEMO_BANK_PATH.with_name("demo_bank_rephrased.json"),
    20261203,
    84,
    patient_prefix="93",
    id_prefix="rephrased",
)
STUDIES_PER_PATIENT = (1, 2, 2, 3)

_NO_FINDING_ROLES = {
    Phenomenon.SYNTACTIC_RESTRUCTURING: "syntactic",
    Phenomenon.NEGATION_PATTERN: "negation",
    Phenomenon.SCOPE_QUANTIFICATION: "scope",
}


@dataclass(frozen=True)
class Draft:
    """A question before it has an answer and an image. `term`/`template` are None for hand-written
    originals; `synset` holds the interchangeable terms of the question's finding term."""

    vocabulary: FindingVocabulary
    question_type: str
    original: str
    synset: tuple[Term, ...]
    term: Term | None = None
    template: str | None = None
    lexical: str | None = None


@dataclass(frozen=True)
class DemoQuestion:
    draft: Draft
    paraphrases: tuple[Paraphrase, ...]
    answer: Answer


def _render(template: str, term: Term, region: str = "") -> str:
    return capitalise(template.format(**term.forms(region)))


def _template_drafts(vocabulary: FindingVocabulary, count: int, rng: random.Random) -> list[Draft]:
    """`count` distinct template questions; one is an abnormality question when the finding has no
    hand-written one."""
    combos = [
        (synset, item, template)
        for synset in vocabulary.synsets
        for item in synset
        for template in PRESENCE_TEMPLATES
    ]
    rng.shuffle(combos)
    drafts: list[Draft] = []
    has_abnormality = any(item.question_type == "abnormality" for item in vocabulary.hand_written)
    if not has_abnormality and vocabulary.name != "support devices":
        synset = rng.choice(vocabulary.synsets)
        template = rng.choice(ABNORMALITY_TEMPLATES)
        text = _render(template, synset[0])
        drafts.append(Draft(vocabulary, "abnormality", text, synset, synset[0], template))
    seen = {draft.original for draft in drafts}
    for synset, item, template in combos:
        text = _render(template, item)
        if len(drafts) < count and text not in seen:
            drafts.append(Draft(vocabulary, "presence", text, synset, item, template))
            seen.add(text)
    return drafts


def _finding_drafts(vocabulary: FindingVocabulary, count: int, rng: random.Random) -> list[Draft]:
    if vocabulary.name == "no finding":
        written = [NO_FINDING_QUESTIONS[index % len(NO_FINDING_QUESTIONS)] for index in range(count)]
        return [_hand_written_draft(vocabulary, item) for item in written]
    drafts = [_hand_written_draft(vocabulary, item) for item in vocabulary.hand_written]
    return drafts + _template_drafts(vocabulary, count - len(drafts), rng)


def _hand_written_draft(vocabulary: FindingVocabulary, item: HandWritten) -> Draft:
    synset = vocabulary.synsets[0] if vocabulary.synsets else ()
    return Draft(vocabulary, item.question_type, item.original, synset, lexical=item.lexical)


def _phenomenon_plan(rng: random.Random) -> list[tuple[Phenomenon, str]]:
    """4 to 6 (phenomenon, register) slots in random order: 4 distinct phenomena, or all five, or all
    five plus a second specificity slot so that both registers appear."""
    count = rng.choice((4, 5, 6))
    phenomena = list(Phenomenon) if count > 4 else rng.sample(list(Phenomenon), 4)
    register = rng.choice(("formal", "casual"))
    plan = [(phenomenon, register) for phenomenon in phenomena]
    if count == 6:
        other = "casual" if register == "formal" else "formal"
        plan.append((Phenomenon.SPECIFICITY_MODULATION, other))
    rng.shuffle(plan)
    return plan


def _candidate(draft: Draft, phenomenon: Phenomenon, register: str, rng: random.Random) -> str:
    """One paraphrase of the draft for the phenomenon (formal/casual register for specificity)."""
    vocabulary = draft.vocabulary
    if phenomenon is Phenomenon.LEXICAL_SUBSTITUTION:
        if draft.lexical is not None:
            return draft.lexical
        if draft.template is None:
            raise ValueError(f"no lexical variant for {draft.original!r}")
        others = [item for item in draft.synset if item != draft.term]
        return _render(draft.template, rng.choice(others))
    if vocabulary.name == "no finding":
        role = _NO_FINDING_ROLES.get(phenomenon, register)
        return rng.choice(NO_FINDING_PARAPHRASES[role])
    templates: tuple[str, ...]
    if phenomenon is Phenomenon.SPECIFICITY_MODULATION:
        templates = FORMAL_TEMPLATES if register == "formal" else CASUAL_TEMPLATES
    else:
        templates = PHENOMENON_TEMPLATES[phenomenon]
        if phenomenon is Phenomenon.SCOPE_QUANTIFICATION and vocabulary.graded:
            templates = templates + GRADED_SCOPE_TEMPLATES
    chosen_term = draft.term or rng.choice(draft.synset)
    return _render(rng.choice(templates), chosen_term, rng.choice(vocabulary.regions))


def _paraphrases(draft: Draft, rng: random.Random) -> tuple[Paraphrase, ...]:
    """Paraphrases for the plan's slots, each different from the original and from each other."""
    texts = {draft.original.lower()}
    paraphrases: list[Paraphrase] = []
    for phenomenon, register in _phenomenon_plan(rng):
        for _attempt in range(50):
            text = _candidate(draft, phenomenon, register, rng)
            if text.lower() not in texts:
                texts.add(text.lower())
                paraphrases.append(Paraphrase(text=text, phenomenon=phenomenon))
                break
    return tuple(paraphrases)


def _answers(counts: list[int], rng: random.Random) -> list[list[Answer]]:
    """Per finding, half yes and half no (odd counts alternate the extra answer across findings)."""
    answers: list[list[Answer]] = []
    extra_yes = True
    for count in counts:
        yes_count = count // 2 + (count % 2 if extra_yes else 0)
        extra_yes = extra_yes != bool(count % 2)
        yes: Answer = "yes"
        no: Answer = "no"
        labels = [yes] * yes_count + [no] * (count - yes_count)
        rng.shuffle(labels)
        answers.append(labels)
    return answers


def generate_questions(seed: int = DEMO_SEED, count: int = DEMO_QUESTION_COUNT) -> list[DemoQuestion]:
    """The demo questions, spread evenly over the 14 findings, in a seeded random order."""
    rng = random.Random(seed)
    counts = [
        count // len(VOCABULARY) + (index < count % len(VOCABULARY)) for index in range(len(VOCABULARY))
    ]
    answers = _answers(counts, rng)
    questions = [
        DemoQuestion(draft, _paraphrases(draft, rng), answer)
        for vocabulary, finding_count, labels in zip(VOCABULARY, counts, answers, strict=True)
        for draft, answer in zip(_finding_drafts(vocabulary, finding_count, rng), labels, strict=True)
    ]
    rng.shuffle(questions)
    return questions


def patient_numbers(n_images: int, rng: random.Random) -> list[int]:
    """The patient of each image: each patient has one to three studies, handed out in rounds (every
    patient's first study, then every second one …), so that neighbouring images, and any first few
    questions, belong to different patients and a swapped image can be another patient's."""
    counts: list[int] = []
    while sum(counts) < n_images:
        counts.append(rng.choice(STUDIES_PER_PATIENT))
    rounds = [number for k in range(max(counts)) for number, count in enumerate(counts, 1) if count > k]
    return rounds[:n_images]


def demo_filename(patient: int, image_number: int, prefix: str = "90") -> str:
    """A MIMIC-CXR-like path (``p<2 digits>/p<subject>/s<study>``): the patient pattern finds its patient."""
    return f"synthetic/p{prefix}/p{prefix}{patient:06d}/s{prefix}{image_number:06d}.png"


def generate_document(spec: DemoBankConfig = DEMO_BANK) -> dict[str, object]:
    """A demo bank as a PSF-Med MIMIC JSON document (rows under `results`)."""
    seed = spec.seed
    questions = generate_questions(seed, spec.count)
    rng = random.Random(seed + 1)
    groups = assign_images([(item.draft.vocabulary.name, item.answer) for item in questions], rng)
    results: list[dict[str, object]] = []
    patients = patient_numbers(len(groups), rng)
    for image_number, members in enumerate(groups, start=1):
        filename = demo_filename(patients[image_number - 1], image_number, spec.patient_prefix)
        for index in members:
            item = questions[index]
            results.append(
                {
                    "question_id": f"{spec.id_prefix}-{len(results) + 1:04d}",
                    "question_type": item.draft.question_type,
                    "answer": item.answer,
                    "filename": filename,
                    "original_question": item.draft.original,
                    "finding": item.draft.vocabulary.name,
                    "paraphrases": [
                        {"text": paraphrase.text, "phenomenon": paraphrase.phenomenon.value}
                        for paraphrase in item.paraphrases
                    ],
                }
            )
    return {
        "description": "Synthetic demo bank of the PSF workbench: clinical yes/no questions about "
        "chest X-ray findings, written by the project; the images are synthetic.",
        "generator": "flipbank.demo_bank",
        "seed": seed,
        "results": results,
    }


def demo_bank_text(spec: DemoBankConfig = DEMO_BANK) -> str:
    return json.dumps(generate_document(spec), indent=2, ensure_ascii=False) + "\n"


def write_demo_bank(spec: DemoBankConfig = DEMO_BANK) -> Path:
    """Writes a demo bank atomically and returns its path."""
    with atomic_path(spec.path) as temporary:
        temporary.write_text(demo_bank_text(spec), encoding="utf-8")
    return spec.path


def load_demo_bank(image_root: str | Path | None = None, path: Path = DEMO_BANK_PATH) -> list[QuestionRecord]:
    """The demo questions through the real MIMIC reader (source "demo"). With `image_root`, image
    paths are resolved against it (render the images there with `flipbank.demo_images`). Patients come
    from the MIMIC-like image paths."""
    return with_patients(read_psf_mimic_json(path, image_root=image_root, source=DEMO_SOURCE).records)


def demo_image_root(cache_dir: str | Path | None = None, path: Path = DEMO_BANK_PATH) -> Path:
    """Render a demo bank's synthetic images (with their annotations) once into the cache, in a folder named
    by the renderer's version and the bank's content; return it."""
    questions = load_demo_bank(path=path)
    bank_hash = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    folder = workbench_cache_dir(cache_dir) / f"demo-images-v{RENDERING_VERSION}-{bank_hash}"
    return build_folder_atomically(folder, lambda staging: write_synthetic_images(questions, staging))


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate (or check) the demo question bank.")
    parser.add_argument("--check", action="store_true", help="only compare with the committed file")
    options = parser.parse_args(arguments)
    banks = (DEMO_BANK, REPHRASED_BANK)
    if options.check:
        stale = [
            spec.path.name for spec in banks if spec.path.read_text(encoding="utf-8") != demo_bank_text(spec)
        ]
        print(f"{', '.join(stale)} differ from the generator" if stale else "demo banks up to date")
        return 1 if stale else 0
    for spec in banks:
        print(f"wrote {write_demo_bank(spec)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
