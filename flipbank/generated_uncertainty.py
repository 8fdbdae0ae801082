"""Uncertainty from extra generations, pure: the entropy of a question's sampled answers over their parsed
content (Yes / No / unparsed, never the wording or a letter), the majority answer, and verbalized confidence
(a second pass that shows the model its answer and asks for 0–100; `confidence_question`, `parse_confidence`).

>>> sampling_entropy_bits(["Yes", "yes.", "No", "Yes, there is"])  # 3 × yes, 1 × no
0.8112781244591328
>>> parse_confidence("I am 85% sure"), parse_confidence("Yes"), parse_confidence("150")
(85.0, None, None)
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from flipbank.answers import parse_answer

#: The outcome of a sample whose answer parses to neither Yes nor No.
UNPARSED = "unparsed"
#: Tokens of the verbalized-confidence answer: up to three digits and a stop token.
VERBALIZED_TOKENS = 4


def answer_content(text: str) -> str:
    """What a sampled answer says: "yes", "no" or `UNPARSED` (the parser's rules, no margin fallback)."""
    label = parse_answer(text).label
    return UNPARSED if label is None else label.value


def sampling_entropy_bits(samples: Sequence[str]) -> float:
    """Shannon entropy (bits) of the answers' content over the samples; NaN without samples."""
    if not samples:
        return math.nan
    counts = Counter(answer_content(text) for text in samples)
    total = sum(counts.values())
    return max(0.0, -sum(c / total * math.log2(c / total) for c in counts.values()))


def majority_answer(samples: Sequence[str]) -> str:
    """The most frequent content among the samples (ties: "yes" before "no" before `UNPARSED`)."""
    counts = Counter(answer_content(text) for text in samples)
    order = {"yes": 0, "no": 1, UNPARSED: 2}
    return min(counts, key=lambda content: (-counts[content], order[content]))


def confidence_question(question: str, answer: str) -> str:
    """The verbalized-confidence prompt: the question, the model's own answer, and a request for 0–100."""
    return (
        f"{question}\nProposed answer: {answer}\n"
        "How confident are you that the proposed answer is correct? "
        "Reply with a number from 0 to 100."
    )


def parse_confidence(text: str) -> float | None:
    """The first whole or decimal number in ``text`` when it lies in [0, 100] (a trailing % allowed); None
    when there is none or it is out of range."""
    found = re.search(r"(?<![\d.\-])(\d+(?:\.\d+)?)", text)
    if found is None:
        return None
    value = float(found.group(1))
    return value if 0.0 <= value <= 100.0 else None
