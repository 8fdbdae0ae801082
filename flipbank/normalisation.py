"""The rule-based prompt normaliser: finding detection in a question (through the
dictionary of `flipbank.findings`) and the mapping to one canonical question per finding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from flipbank.findings import FINDINGS

#: Words that make a question about more than presence (location, size, change, wh-questions);
#: such questions pass through unchanged, since the canonical question would change their meaning.
QUALIFIER_WORDS = (
    "where",
    "which",
    "what",
    "how",
    "when",
    "why",
    "left",
    "right",
    "bilateral",
    "unilateral",
    "upper",
    "lower",
    "middle",
    "apical",
    "basilar",
    "large",
    "moderate",
    "severe",
    "mild",
    "massive",
    "worse",
    "worsening",
    "improved",
    "improving",
    "new",
    "interval",
    "compared",
    "prior",
    "previous",
    "since",
    "change",
    "changed",
    "resolved",
)

#: Negation cues that may invert the polarity of a question ("Is there no effusion?") or make it
#: ambiguous ("There's no effusion, is there?"): such questions pass through unchanged.
INVERTING_NEGATIONS = (
    "no",
    "not",
    "none",
    "nothing",
    "without",
    "absent",
    "absence",
    "free of",
    "rule out",
    "ruled out",
    "exclude",
    "excluded",
    "negative for",
    "clear of",
    "lack",
    "lacks",
    "lacking",
    "neither",
    "nor",
    "never",
    r"\w+n't",
)

#: Negative-interrogative openers ("Isn't there an effusion?") keep the polarity of the question
#: (yes still means present), so they are normalised like the positive question.
PRESERVING_OPENERS = r"(?:isn't|aren't|doesn't|don't|can't|couldn't|wouldn't|won't|hasn't|haven't)"


def prepare_text(text: str) -> str:
    """Lower case, curly apostrophes straightened, hyphens and other punctuation read as spaces."""
    lowered = text.lower().replace("\u2019", "'").replace("-", " ")
    return " ".join(re.sub(r"[^\w' ]+", " ", lowered).split())


@cache
def _synonym_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple(
        (finding.name, re.compile(rf"(?<![\w']){synonym}(?![\w'])"))
        for finding in FINDINGS
        for synonym in finding.synonyms
    )


@dataclass(frozen=True)
class FindingMatch:
    finding: str
    start: int
    end: int


def finding_matches(text: str) -> list[FindingMatch]:
    """Synonym matches in the prepared text, keeping only those not inside a longer match."""
    prepared = prepare_text(text)
    matches = [
        FindingMatch(name, found.start(), found.end())
        for name, pattern in _synonym_patterns()
        for found in pattern.finditer(prepared)
    ]
    return [
        match
        for match in matches
        if not any(
            other.start <= match.start
            and match.end <= other.end
            and other != match
            and (other.end - other.start) > (match.end - match.start)
            for other in matches
        )
    ]


def find_finding(text: str) -> str | None:
    """The one finding a question is about, or None when none or several distinct findings match."""
    names = {match.finding for match in finding_matches(text)}
    return names.pop() if len(names) == 1 else None


def canonical_finding_name(name: str) -> str | None:
    """The CheXpert name of a finding label or synonym given on its own ("Effusion"), else None."""
    prepared = prepare_text(name)
    for finding_name, pattern in _synonym_patterns():
        if pattern.fullmatch(prepared):
            return finding_name
    return None


@dataclass(frozen=True)
class NormalisationDecision:
    """What the normaliser did with a question and why."""

    text: str
    finding: str | None
    normalised: bool
    reason: str


def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])(?:" + "|".join(words) + r")(?![\w'])")


_QUALIFIERS = _words_pattern(QUALIFIER_WORDS)
_NEGATIONS = _words_pattern(INVERTING_NEGATIONS)
_OPENER = re.compile(rf"^{PRESERVING_OPENERS}(?![\w'])")


def explain_normalisation(text: str) -> NormalisationDecision:
    """Normalises a question and says why. Unmatched, ambiguous, qualified (location, size, change)
    and polarity-inverting negated questions pass through unchanged."""
    matches = finding_matches(text)
    names = {match.finding for match in matches}
    if len(names) != 1:
        reason = "no finding matched" if not names else "several findings matched"
        return NormalisationDecision(text, None, False, reason)
    finding = names.pop()
    prepared = prepare_text(text)
    rest = prepared
    for match in sorted(matches, key=lambda item: item.start, reverse=True):
        rest = rest[: match.start] + " " + rest[match.end :]
    rest = _OPENER.sub(" ", rest.strip())
    if _QUALIFIERS.search(rest):
        return NormalisationDecision(text, finding, False, "qualified question (not presence)")
    if _NEGATIONS.search(rest):
        return NormalisationDecision(text, finding, False, "negation may invert the polarity")
    canonical = next(item for item in FINDINGS if item.name == finding).question()
    return NormalisationDecision(canonical, finding, True, "normalised")


def normalise_question(text: str) -> str:
    """Maps a question to its finding's canonical question ("Is pleural effusion present in this
    chest radiograph?"); unmatched, ambiguous, qualified or negated questions come back unchanged.

    Negation choice: the meaning is never inverted. "Isn't there an effusion?" keeps the polarity of
    the question (yes = present), so it is normalised; "Is there no effusion?", "Can effusion be
    ruled out?" and tag questions ("There's no effusion, is there?") pass through unchanged."""
    return explain_normalisation(text).text
