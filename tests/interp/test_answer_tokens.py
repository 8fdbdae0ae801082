import pytest
from transformers import PreTrainedTokenizerBase

from interp.answer_tokens import resolve_yes_no_tokens
from interp.handle import ModelHandle


class SplitTokenizer(PreTrainedTokenizerBase):
    """A tokenizer stand-in whose vocabulary holds only the listed single-token spellings; every other text
    is split into one token per character. A ``PreTrainedTokenizerBase`` subclass, so the run-time type
    checks accept it; the base class's own set-up is skipped, as nothing here reads it."""

    def __init__(self, words: dict[str, int]) -> None:  # no super().__init__(): see the docstring
        self.words = words

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [self.words[text]] if text in self.words else [1000 + ord(c) for c in text]


def test_the_real_tokenizer_gives_primary_ids_first(demo_handle: ModelHandle) -> None:
    tokenizer = demo_handle.tokenizer
    for leading_space in (False, True):
        tokens = resolve_yes_no_tokens(tokenizer, leading_space)
        prefix = " " if leading_space else ""
        assert tokens.primary_yes == tokenizer.encode(prefix + "Yes", add_special_tokens=False)[0]
        assert tokens.primary_no == tokenizer.encode(prefix + "No", add_special_tokens=False)[0]
        for token in (*tokens.yes, *tokens.no):
            word = str(tokenizer.decode([token]))
            assert word.strip().lower() in ("yes", "no")


@pytest.mark.parametrize(("words", "missing"), [({"Yes": 5, "yes": 6}, "'No'"), ({"No": 5}, "'Yes'")])
def test_a_split_primary_spelling_is_named(words: dict[str, int], missing: str) -> None:
    with pytest.raises(
        ValueError, match=f"splits the answer spelling {missing} into {len(missing) - 2} tokens"
    ):
        resolve_yes_no_tokens(SplitTokenizer(words), leading_space=False)  # type: ignore[arg-type]


def test_split_variants_are_left_out_of_the_pool() -> None:
    tokenizer = SplitTokenizer({"Yes": 1, "No": 2, "yes": 3, " Yes": 4, " No": 5})
    tokens = resolve_yes_no_tokens(tokenizer, leading_space=False)  # type: ignore[arg-type]
    assert tokens.yes == (1, 3, 4) and tokens.no == (2, 5)
    spaced = resolve_yes_no_tokens(tokenizer, leading_space=True)  # type: ignore[arg-type]
    assert spaced.primary_yes == 4 and spaced.primary_no == 5
    with pytest.raises(ValueError, match="' Yes'"):
        resolve_yes_no_tokens(SplitTokenizer({"Yes": 1, "No": 2}), leading_space=True)  # type: ignore[arg-type]
