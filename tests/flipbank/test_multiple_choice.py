"""Multiple-choice items and NOTA variants by hand, and answer parsing."""

import doctest

import pytest
from pydantic import ValidationError

import flipbank.multiple_choice
from flipbank.multiple_choice import NOTA, ChoiceItem, nota_item, parse_choice

ITEM = ChoiceItem(item_id="q1", question="Which finding?", options=["effusion", "nodule", "edema"], gold=1)


def test_every_variant_by_hand() -> None:
    replaced = nota_item(ITEM, "replace_gold")
    assert replaced.options == ["effusion", NOTA, "edema"] and replaced.gold == 1
    appended = nota_item(ITEM, "remove_gold_append")
    assert appended.options == ["effusion", "edema", NOTA] and appended.gold == 2
    control = nota_item(ITEM, "wrong_extra")
    assert (
        control.options == ["effusion", "nodule", "edema", NOTA] and control.options[control.gold] == "nodule"
    )
    assert control.variant == "wrong_extra (last)"


@pytest.mark.parametrize("variant", ["replace_gold", "remove_gold_append", "wrong_extra"])
def test_a_seeded_position_keeps_the_right_answer(variant: str) -> None:
    positions = set()
    for seed in range(20):
        perturbed = nota_item(ITEM, variant, "seeded", seed)  # type: ignore[arg-type]
        right = perturbed.options[perturbed.gold]
        assert right == ("nodule" if variant == "wrong_extra" else NOTA)
        positions.add(perturbed.options.index(NOTA))
        assert nota_item(ITEM, variant, "seeded", seed) == perturbed  # type: ignore[arg-type]
    if variant == "replace_gold":
        assert positions == {1}  # in place: the gold option's slot
    else:
        assert len(positions) > 1


def test_items_are_validated() -> None:
    with pytest.raises(ValidationError, match="gold index 3 is not one of the 3 options"):
        ChoiceItem(item_id="q", question="?", options=["a", "b", "c"], gold=3)
    with pytest.raises(ValidationError, match="options repeat"):
        ChoiceItem(item_id="q", question="?", options=["a", "A "], gold=0)


def test_answers_are_parsed_by_letter_or_by_text() -> None:
    assert parse_choice("B", ITEM) == 1 and parse_choice("(c) edema", ITEM) == 2
    assert parse_choice("I think it is a nodule", ITEM) == 1
    assert parse_choice("A or B", ITEM) is None and parse_choice("nothing here", ITEM) is None
    assert parse_choice("D", ITEM) is None  # not an option of a three-option item


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(flipbank.multiple_choice).failed == 0
