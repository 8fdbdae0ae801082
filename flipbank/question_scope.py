"""Which questions the workbench studies: yes/no questions only, since the yes-minus-no margin and the answer
parser mean nothing for an open question ("Where is the nodule located?").

The rule, applied to a question's text (the original and every paraphrase):

1. A text whose first word is an open interrogative (``OPEN_QUESTION_WORDS``: what, where, which, when,
   why, who, whom, whose, how, also as "what's", "how's" …) is not a yes/no question.
2. A record whose ``question_type`` is open-ended (``OPEN_QUESTION_TYPES``: location, view, severity, level,
   type) is out of scope unless its original question opens with a yes/no verb (``YES_NO_OPENERS``: is,
   are, does, can, … and their negations), as "Is the effusion on the left?" does.

Everything else is in scope: casual paraphrases ("Any effusion?", "Spot a pneumothorax?") are yes/no
questions without an auxiliary verb. Leading spaces, quotes and punctuation are ignored; case is ignored.
"""

from __future__ import annotations

import re

from flipbank.records import QuestionRecord

OPEN_QUESTION_WORDS = frozenset({"what", "where", "which", "when", "why", "who", "whom", "whose", "how"})
OPEN_QUESTION_TYPES = frozenset({"location", "view", "severity", "level", "type"})
YES_NO_OPENERS = frozenset(
    {
        "is",
        "are",
        "was",
        "were",
        "am",
        "do",
        "does",
        "did",
        "can",
        "could",
        "has",
        "have",
        "had",
        "will",
        "would",
        "should",
        "shall",
        "may",
        "might",
        "must",
    }
)
_FIRST_WORD = re.compile(r"[\W_]*([^\W\d_]+(?:'[^\W\d_]+)?)")


def first_word(text: str) -> str:
    """The first word of ``text``, lower-cased, with a typographic apostrophe as "'" ("" when none)."""
    match = _FIRST_WORD.match(text.replace("\u2019", "'"))
    return "" if match is None else match.group(1).lower()


def _stem(word: str) -> str:
    """ "what's" → "what"; "isn't" → "is"."""
    head = word.split("'")[0]
    return head[:-1] if word.endswith("n't") and head.endswith("n") else head


def is_open_question(text: str) -> bool:
    """True when ``text`` opens with an open interrogative (rule 1)."""
    return _stem(first_word(text)) in OPEN_QUESTION_WORDS


def opens_with_yes_no_verb(text: str) -> bool:
    """True when ``text`` opens with an auxiliary or copula verb, negated or not ("Is", "Doesn't" …)."""
    word = first_word(text)
    return _stem(word) in YES_NO_OPENERS or word in {"can't", "won't", "shan't"}


def scope_problems(record: QuestionRecord) -> list[tuple[str, str]]:
    """(field, reason) for every reason ``record`` is not a yes/no question; empty when it is one."""
    problems: list[tuple[str, str]] = []
    texts = [("original_question", record.original_question)]
    texts += [(f"paraphrases[{i}].text", p.text) for i, p in enumerate(record.paraphrases)]
    for field, text in texts:
        if is_open_question(text):
            problems.append((field, f"not a yes/no question (opens with {first_word(text)!r})"))
    kind = record.question_type.strip().lower()
    if kind in OPEN_QUESTION_TYPES and not opens_with_yes_no_verb(record.original_question):
        reason = f"question_type {kind!r} is open-ended and the question does not open with a yes/no verb"
        problems.append(("question_type", reason))
    return problems
