"""Question templates of the demo bank, one list per role (original question, each phenomenon, the
formal and casual registers). Placeholders: {a} "a pleural effusion", {any} "any pleural effusion",
{bare} "pleural effusion", {region} a scope phrase such as "on either side"."""

from __future__ import annotations

from flipbank.records import Phenomenon

#: Neutral presence questions used as originals.
PRESENCE_TEMPLATES = (
    "Is there {a}?",
    "Is there {a} on this chest X-ray?",
    "Does this chest X-ray show {a}?",
    "Is {a} present?",
    "Can you see {a} on this radiograph?",
    "Does the image show {a}?",
    "Is {a} visible on this X-ray?",
    "Does this patient have {a}?",
    "Do you see {a} on this film?",
    "Is {a} seen in this image?",
)

#: Originals phrased as abnormality questions (question_type "abnormality").
ABNORMALITY_TEMPLATES = (
    "Is there an abnormality consistent with {a}?",
    "Does this radiograph show an abnormality in keeping with {a}?",
)

#: The same question built another way, with the same finding term.
SYNTACTIC_TEMPLATES = (
    "Does this radiograph show {a}?",
    "Is {a} seen on this chest X-ray?",
    "On this chest X-ray, is there {a}?",
    "Can {a} be identified on this image?",
    "Looking at this radiograph, is there {a}?",
    "In this image, can {a} be seen?",
    "Is {a} something you can see on this film?",
    "Would you say this X-ray shows {a}?",
)

#: Negative interrogatives and tag questions that keep the question's polarity: "yes" still means
#: the finding is present, so the ground truth is unchanged.
NEGATION_TEMPLATES = (
    "Isn't there {a} on this image?",
    "Doesn't this radiograph show {a}?",
    "Wouldn't you say there is {a} here?",
    "Can't you see {a} on this film?",
    "There's no {bare} here, is there?",
    "Isn't {a} visible on this X-ray?",
    "Aren't there signs of {a} on this radiograph?",
)

#: Widened scope or quantifiers ("any", "at all", "on either side").
SCOPE_TEMPLATES = (
    "Is there {any} {region}?",
    "Is {a} present {region}?",
    "Can you see {any} anywhere on this film?",
    "Is there {any} at all on this radiograph?",
    "Are there any signs at all of {a}?",
)

#: Scope templates for findings that come in degrees.
GRADED_SCOPE_TEMPLATES = ("Is there {any}, however slight?",)

#: Specificity modulation, formal register.
FORMAL_TEMPLATES = (
    "Is there radiographic evidence of {a}?",
    "Does the study demonstrate findings consistent with {a}?",
    "Are there radiographic features of {a}?",
    "Does this frontal chest radiograph demonstrate {a}?",
    "Is {a} radiographically evident on this examination?",
    "Are there imaging findings compatible with {a}?",
)

#: Specificity modulation, casual register.
CASUAL_TEMPLATES = (
    "{any} here?",
    "See {any} on this one?",
    "{any} on this X-ray?",
    "Is there {a} or not?",
    "Spot {any} on this film?",
    "Does it look like {a} to you?",
    "Got {any} on this scan?",
    "Quick one: {any} here?",
)

#: Templates for the phenomena other than lexical substitution (which swaps the finding term).
PHENOMENON_TEMPLATES: dict[Phenomenon, tuple[str, ...]] = {
    Phenomenon.SYNTACTIC_RESTRUCTURING: SYNTACTIC_TEMPLATES,
    Phenomenon.NEGATION_PATTERN: NEGATION_TEMPLATES,
    Phenomenon.SCOPE_QUANTIFICATION: SCOPE_TEMPLATES,
}


def capitalise(text: str) -> str:
    """Upper-cases the first character only ("any effusion here?" -> "Any effusion here?")."""
    return text[:1].upper() + text[1:]
