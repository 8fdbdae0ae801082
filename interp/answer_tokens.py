"""Resolves the token ids of the Yes/No answer words from a tokenizer (never hard-coded)."""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

_YES_SPELLINGS = ("Yes", "yes", "YES")
_NO_SPELLINGS = ("No", "no", "NO")


@dataclass(frozen=True)
class YesNoTokens:
    """Token ids for Yes and No: the first id of each tuple is the primary spelling, the rest are variants
    (case and leading-space forms) that a logsumexp margin may pool."""

    yes: tuple[int, ...]
    no: tuple[int, ...]

    @property
    def primary_yes(self) -> int:
        return self.yes[0]

    @property
    def primary_no(self) -> int:
        return self.no[0]


def single_token_id(tokenizer: PreTrainedTokenizerBase, word: str) -> int | None:
    """The id of ``word`` when the tokenizer encodes it as exactly one token, else None."""
    ids = tokenizer.encode(word, add_special_tokens=False)
    return int(ids[0]) if len(ids) == 1 else None


def _spelling_ids(
    tokenizer: PreTrainedTokenizerBase, spellings: tuple[str, ...], leading_space: bool
) -> tuple[int, ...]:
    first_prefix, second_prefix = (" ", "") if leading_space else ("", " ")
    ordered = [first_prefix + word for word in spellings] + [second_prefix + word for word in spellings]
    ids: list[int] = []
    for text in ordered:
        token_id = single_token_id(tokenizer, text)
        if token_id is not None and token_id not in ids:
            ids.append(token_id)
    return tuple(ids)


def resolve_yes_no_tokens(tokenizer: PreTrainedTokenizerBase, leading_space: bool) -> YesNoTokens:
    """Find the Yes/No ids; ``leading_space`` picks " Yes"/" No" as the primary spelling (the next token after
    "Answer:" in a few-shot prompt) instead of "Yes"/"No" (the first token of a chat-template model turn).
    Both primary spellings must be single tokens (a ValueError names the one that is not); a variant is
    pooled only when it is one token too, so every id in the result stands for a whole answer word."""
    prefix = " " if leading_space else ""
    for word in ("Yes", "No"):
        pieces = tokenizer.encode(prefix + word, add_special_tokens=False)
        if len(pieces) != 1:
            raise ValueError(
                f"tokenizer {type(tokenizer).__name__} splits the answer spelling {prefix + word!r} into "
                f"{len(pieces)} tokens {list(pieces)}; the yes-minus-no margin needs one token per answer "
                "word"
            )
    yes = _spelling_ids(tokenizer, _YES_SPELLINGS, leading_space)
    no = _spelling_ids(tokenizer, _NO_SPELLINGS, leading_space)
    return YesNoTokens(yes=yes, no=no)
