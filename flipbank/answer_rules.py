"""The regex vocabulary of the answer parser in ``flipbank.answers``: conditional and hedge phrases, the
leading yes/no, and one scanner that cuts an answer into the tokens the parser walks. Every pattern runs on
lower-cased text with single spaces and straight apostrophes (see ``clean_text``); none can backtrack
more than a word or two, so parsing stays linear in the answer's length."""

from __future__ import annotations

import re
from enum import StrEnum


class Kind(StrEnum):
    """What a scanned token does; the values double as the scanner's group names."""

    HARD = "hard"  # ends a clause: . ! ? ; dashes, but / however / although, ", the ...", "and there ..."
    EXCEPT = "except"  # "except for", "apart from": ends the clause and states a finding
    SOFT = "soft"  # a comma or colon: ends the scope of "not", not that of "no"
    OTHERWISE = "otherwise"  # "otherwise normal": negative words after it describe the rest of the study
    NEG_EXISTENTIAL = "neg_existential"  # "there isn't", "there doesn't appear to be": weak "no", negates
    EXISTENTIAL = "existential"  # "there is", "there appears to be": weak "yes"
    NO_WORD = "no_word"  # "no", "none", "without", "free of": says "no" and negates the rest of its clause
    DET_NEGATOR = "det_negator"  # "nothing", "neither", "nor": negates the rest of its clause, says nothing
    NOT = "not"  # not, never, cannot, -n't: negates the next few words
    CLEAR_BEFORE = "clear_before"  # "clear lungs", "clear lung fields": negative
    CLEAR = "clear"  # negative only a few words after a SUBJECT ("the lungs are clear")
    SUBJECT = "subject"  # lungs, fields, angles, bases: what "clear" must describe to be negative
    NEGATIVE = "negative"  # absent, negative, normal, unremarkable, ...
    AFFIRMATIVE = "affirmative"  # yes, present, visible, enlarged, seen, evidence, ...
    REPORTING = "reporting"  # shows, demonstrates, reveals, consistent with, see: weak "yes"
    WORD = "word"  # any other word; counted for the width of "not"'s scope


WEAK_KINDS = frozenset({Kind.EXISTENTIAL, Kind.NEG_EXISTENTIAL, Kind.REPORTING})
NOT_WINDOW = 6  # words after "not" / "-n't" (or after a cue it negated) that it still negates
CLEAR_WINDOW = 5  # words between a SUBJECT and "clear"


def _words(*words: str) -> str:
    return r"\b(?:" + "|".join(words) + r")\b"


_CLAUSE_START = "the|there|this|it|its|these|they|which"
_HARD = "|".join(
    (
        r"[.!?;](?!\d)",
        r"[—–]",
        r"(?<= )-(?= )",
        _words("but", "however", "although", "though", "whereas", "while", "yet"),
        rf"(?<!otherwise),(?= (?:and |but )?(?:{_CLAUSE_START})\b)",
        rf"\band(?= (?:a|an|{_CLAUSE_START})\b)",
    )
)
_NEG_EXISTENTIAL = (
    r"\bthere (?:(?:is|are|was|were)(?:n't| not)|(?:does|do)(?:n't| not) (?:appear|seem) to be)\b"
)
_EXISTENTIAL = r"\bthere(?:'s|(?: is| are| was| were| (?:appears|seems) to be)\b)"
_NEGATIVE = _words("absent", "negative", "normal", "unremarkable", "intact", "ruled out", "excluded")
_AFFIRMATIVE = _words(
    "yes", "present", "presence", "visible", "visuali[sz]ed", "confirmed", "evident", "evidence", "seen",
    "noted", "identified", "observed", "appreciated", "detected", "enlarged", "enlargement", "widened",
    "widening", "increased", "opacit(?:y|ies)", "opacification", "abnormal(?:ity|ities)?", "positive",
    "thicken(?:ed|ing)", "dilat(?:ed|ation|ion)", "blunt(?:ed|ing)", "elevated", "displaced",
)  # fmt: skip
_REPORTING = _words(
    "shows?", "shown", "showing", "sees?", "demonstrat(?:e|es|ed|ing)", "reveal(?:s|ed|ing)?",
    "depict(?:s|ed)?", "consistent with", "indicat(?:es|ed|ing|ive of)",
)  # fmt: skip

_TOKEN_PATTERNS: tuple[tuple[Kind, str], ...] = (
    (Kind.HARD, _HARD),
    (Kind.EXCEPT, _words("except", "apart from", "aside from", "other than")),
    (Kind.SOFT, r"[,:]"),
    (Kind.OTHERWISE, _words("otherwise")),
    (Kind.NEG_EXISTENTIAL, _NEG_EXISTENTIAL),
    (Kind.EXISTENTIAL, _EXISTENTIAL),
    (Kind.NO_WORD, _words("no", "none", "without", "free of", "absence of", "lack of", "negative for")),
    (Kind.DET_NEGATOR, _words("nothing", "neither", "nor")),
    (Kind.NOT, _words("not", "never", "cannot", r"\w*n't")),
    (Kind.CLEAR_BEFORE, r"\bclear(?= (?:lungs?|fields?|lung fields?|costophrenic)\b)"),
    (Kind.CLEAR, _words("clear")),
    (Kind.SUBJECT, _words("lungs?", "fields?", "angles?", "bases")),
    (Kind.NEGATIVE, _NEGATIVE),
    (Kind.AFFIRMATIVE, _AFFIRMATIVE),
    (Kind.REPORTING, _REPORTING),
    (Kind.WORD, r"\w+(?:'\w+)?"),
)
TOKENS = re.compile("|".join(f"(?P<{kind.value}>{pattern})" for kind, pattern in _TOKEN_PATTERNS))

CONDITIONAL = re.compile(
    _words(
        "if",
        "unless",
        "depends?",
        "depending",
        "dependent",
        "provided that",
        "assuming",
        "in case",
        "as long as",
    )
)
_CANNOT = r"(?:can ?not|can't|could not|couldn't|unable to|difficult to|hard to)"
_HEDGE_PHRASES = (
    _words(
        "possibly", "possible", "possibility", "may", "might", "maybe", "perhaps", "probabl[ey]",
        "(?:un)?likely", "uncertain", "unclear", "unsure", "not sure", "not certain", "questionable",
        "equivocal", "indeterminate", "borderline", "suggest(?:s|ed|ing|ive|ion)?", "suspicious",
        "suspect(?:s|ed)?", "concerning", "could(?! not\b)", "(?:do not|don't) know",
    ),
    rf"\b{_CANNOT} (?:be )?(?:\w+ )?(?:determined?|assess(?:ed)?|evaluated?|confirm(?:ed)?|tell|say)\b",
    rf"\b{_CANNOT} (?:be )?(?:ruled? out|excluded?)\b",
    r"\bnot (?:be )?(?:ruled out|excluded)\b",
    r"(?:\bnot|n't) (?:\w+ )?clear\b",
)  # fmt: skip
HEDGE = re.compile("|".join(_HEDGE_PHRASES))
LEADING = re.compile(r"^\W*(yes|no)(?=\s*(?:[^\w\s]|$))")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})


def clean_text(text: str) -> str:
    """Lower-case ``text``, straighten its apostrophes and collapse its whitespace to single spaces."""
    return " ".join(text.lower().translate(_APOSTROPHES).split())
