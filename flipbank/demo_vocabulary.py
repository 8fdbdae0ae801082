"""The demo bank's clinical vocabulary: for each of the 14 CheXpert findings, sets of interchangeable
terms (with their grammatical forms), scope phrases, and hand-written questions with a lexical
variant. Every term is one the normaliser's finding dictionary recognises."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """A finding term and its forms: bare ("pleural effusion"), with an article ("a pleural
    effusion") and after "any" ("any pleural effusion")."""

    bare: str
    article: str
    any_form: str

    def forms(self, region: str) -> dict[str, str]:
        return {"bare": self.bare, "a": self.article, "any": self.any_form, "region": region}


def term(bare: str, article: str = "", any_form: str = "") -> Term:
    """`term("pleural effusion", "a")` -> a pleural effusion / any pleural effusion."""
    with_article = f"{article} {bare}" if article else bare
    return Term(bare, with_article, any_form or f"any {bare}")


@dataclass(frozen=True)
class HandWritten:
    """An original question written out in full, with its lexical-substitution variant."""

    original: str
    lexical: str
    question_type: str = "presence"


@dataclass(frozen=True)
class FindingVocabulary:
    """What the generator may say about one finding. `synsets` group terms that mean the same thing
    (lexical substitution stays within one); `graded` findings come in degrees ("however slight")."""

    name: str
    synsets: tuple[tuple[Term, ...], ...]
    regions: tuple[str, ...]
    graded: bool
    hand_written: tuple[HandWritten, ...] = ()


_SIDES = ("on either side", "anywhere on this film", "in any part of the chest")
_DEGREE = ("to any degree", "at all")
_DEVICES = ("anywhere in the chest", "projecting over the chest")

VOCABULARY: tuple[FindingVocabulary, ...] = (
    FindingVocabulary(
        "atelectasis",
        (
            (term("atelectasis"), term("atelectatic change"), term("partial lung collapse")),
            (term("lobar collapse"), term("collapsed lobe", "a")),
        ),
        _SIDES,
        graded=True,
    ),
    FindingVocabulary(
        "cardiomegaly",
        (
            (
                term("cardiomegaly"),
                term("enlarged heart", "an", "any enlargement of the heart"),
                term("cardiac enlargement"),
                term("enlarged cardiac silhouette", "an", "any enlargement of the cardiac silhouette"),
            ),
        ),
        _DEGREE,
        graded=True,
        hand_written=(
            HandWritten("Is the heart enlarged?", "Is the heart big?"),
            HandWritten(
                "Does the heart look enlarged on this film?", "Does the heart look large on this film?"
            ),
            HandWritten(
                "Is the cardiac silhouette abnormally enlarged?",
                "Is the heart size abnormally increased?",
                "abnormality",
            ),
        ),
    ),
    FindingVocabulary(
        "consolidation",
        ((term("consolidation"), term("airspace consolidation"), term("consolidative opacity", "a")),),
        _SIDES,
        graded=True,
    ),
    FindingVocabulary(
        "edema",
        (
            (
                term("pulmonary edema"),
                term("edema"),
                term("fluid in the lungs"),
                term("pulmonary oedema"),
                term("water on the lungs"),
            ),
        ),
        ("at all", "anywhere on this film"),
        graded=True,
    ),
    FindingVocabulary(
        "enlarged cardiomediastinum",
        (
            (
                term("enlarged cardiomediastinum", "an", "any enlargement of the cardiomediastinum"),
                term("widened mediastinum", "a", "any widening of the mediastinum"),
                term("mediastinal widening"),
                term(
                    "enlarged cardiomediastinal silhouette",
                    "an",
                    "any enlargement of the cardiomediastinal silhouette",
                ),
            ),
        ),
        _DEGREE,
        graded=True,
        hand_written=(
            HandWritten("Is the mediastinum widened?", "Is the mediastinum broadened?"),
            HandWritten(
                "Is the mediastinal contour abnormally wide?",
                "Is the mediastinal silhouette abnormally widened?",
                "abnormality",
            ),
        ),
    ),
    FindingVocabulary(
        "fracture",
        (
            (term("fracture", "a"), term("broken bone", "a")),
            (term("rib fracture", "a"), term("broken rib", "a"), term("cracked rib", "a")),
            (term("clavicle fracture", "a"), term("broken collarbone", "a")),
        ),
        ("on either side of the chest", "anywhere on this film", "anywhere in the visible skeleton"),
        graded=False,
        hand_written=(HandWritten("Are any of the ribs fractured?", "Are any of the ribs broken?"),),
    ),
    FindingVocabulary(
        "lung lesion",
        (
            (term("lung lesion", "a"), term("pulmonary lesion", "a")),
            (term("pulmonary nodule", "a"), term("lung nodule", "a"), term("spot on the lung", "a")),
            (term("lung mass", "a"), term("pulmonary mass", "a")),
        ),
        _SIDES,
        graded=False,
        hand_written=(
            HandWritten(
                "Is there an abnormal nodule in the lungs?",
                "Is there an abnormal mass in the lungs?",
                "abnormality",
            ),
        ),
    ),
    FindingVocabulary(
        "lung opacity",
        (
            (term("lung opacity", "a"), term("pulmonary opacity", "a"), term("shadow on the lung", "a")),
            (term("airspace opacity", "an"), term("airspace disease")),
        ),
        _SIDES,
        graded=True,
        hand_written=(
            HandWritten(
                "Is there an abnormal opacity in the lungs?",
                "Is there an abnormal shadow on the lungs?",
                "abnormality",
            ),
        ),
    ),
    FindingVocabulary("no finding", (), (), graded=False),
    FindingVocabulary(
        "pleural effusion",
        (
            (
                term("pleural effusion", "a"),
                term("effusion", "an"),
                term("pleural fluid"),
                term("fluid around the lung"),
                term("fluid buildup around the lung"),
            ),
        ),
        _SIDES,
        graded=True,
        hand_written=(
            HandWritten("Are the costophrenic angles blunted?", "Are the costophrenic angles blunt?"),
        ),
    ),
    FindingVocabulary(
        "pleural other",
        (
            (term("pleural thickening"), term("thickened pleura"), term("pleural scarring")),
            (term("pleural plaque", "a"), term("calcified pleural plaque", "a")),
        ),
        _SIDES,
        graded=True,
        hand_written=(
            HandWritten(
                "Is there a pleural abnormality?", "Is there an abnormality of the pleura?", "abnormality"
            ),
        ),
    ),
    FindingVocabulary(
        "pneumonia",
        (
            (
                term("pneumonia"),
                term("chest infection", "a"),
                term("lung infection", "a"),
                term("infectious process", "an"),
            ),
        ),
        _SIDES,
        graded=False,
    ),
    FindingVocabulary(
        "pneumothorax",
        (
            (
                term("pneumothorax", "a"),
                term("collapsed lung", "a"),
                term("air in the pleural space"),
                term("air around the lung"),
            ),
        ),
        _SIDES,
        graded=True,
    ),
    FindingVocabulary(
        "support devices",
        (
            (
                term("support device", "a", "any support devices"),
                term("medical device", "a", "any medical devices"),
            ),
            (term("endotracheal tube", "an"), term("breathing tube", "a")),
            (term("central venous catheter", "a"), term("central line", "a")),
            (term("pacemaker", "a"), term("cardiac pacemaker", "a")),
            (term("nasogastric tube", "a"), term("NG tube", "an")),
        ),
        _DEVICES,
        graded=False,
        hand_written=(
            HandWritten("Are there any lines or tubes in place?", "Are there any tubes or lines in place?"),
        ),
    ),
)

#: "No finding" questions ask whether the radiograph is normal (yes = no finding); they are
#: abnormality questions, written out in full.
NO_FINDING_QUESTIONS = (
    HandWritten("Is this chest X-ray normal?", "Is this chest radiograph normal?", "abnormality"),
    HandWritten("Is this a normal chest radiograph?", "Is this a normal chest film?", "abnormality"),
    HandWritten("Is the chest radiograph unremarkable?", "Is the chest film unremarkable?", "abnormality"),
    HandWritten(
        "Is this study within normal limits?", "Is this examination within normal limits?", "abnormality"
    ),
    HandWritten(
        "Does this chest X-ray show no acute abnormality?",
        "Does this chest X-ray show no acute findings?",
        "abnormality",
    ),
    HandWritten(
        "Is the chest X-ray within normal limits?", "Is the chest film within normal limits?", "abnormality"
    ),
)

#: Paraphrases of "no finding" questions by role. Negations are negative interrogatives only: a tag
#: question ("There's nothing abnormal, is there?") would invert the meaning of "yes".
NO_FINDING_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "syntactic": (
        "Would you call this chest X-ray normal?",
        "Does this radiograph look normal?",
        "On this image, does the chest look normal?",
        "Does this study appear normal?",
    ),
    "negation": (
        "Isn't this a normal chest X-ray?",
        "Doesn't this radiograph look normal?",
        "Isn't this study within normal limits?",
        "Wouldn't you call this chest film normal?",
    ),
    "scope": (
        "Is this chest X-ray completely normal?",
        "Is everything on this radiograph within normal limits?",
        "Is this film entirely unremarkable?",
        "Does the chest look normal throughout on this image?",
    ),
    "formal": (
        "Does this examination demonstrate no acute cardiopulmonary findings?",
        "Is this study within normal limits radiographically?",
        "Is the examination radiographically unremarkable?",
        "Are the radiographic appearances within normal limits?",
    ),
    "casual": (
        "Does this X-ray look normal to you?",
        "Is this one a normal film?",
        "Normal chest X-ray, would you say?",
        "Chest looks normal here?",
    ),
}
