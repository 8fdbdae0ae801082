"""Multiple-choice items and their NOTA perturbations ("Uncertainty Is Not a Safety Net…"): the correct
option hidden behind "None of the above". Variants, each explicit: ``replace_gold`` (NOTA takes the gold
option's place and is then right), ``remove_gold_append`` (the gold option is removed and NOTA added, last or
at a seeded position, and is then right), and the control ``wrong_extra`` (NOTA added as a wrong extra
option, last or at a seeded position, the gold option kept).

>>> item = ChoiceItem(item_id="q1", question="Which?", options=["effusion", "nodule", "edema"], gold=0)
>>> nota = nota_item(item, "replace_gold")
>>> nota.options, nota.gold, choice_prompt(nota).splitlines()[1]
(['None of the above', 'nodule', 'edema'], 0, 'A. None of the above')
>>> nota_item(item, "remove_gold_append").options
['nodule', 'edema', 'None of the above']
"""

from __future__ import annotations

import random
import re
import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NOTA = "None of the above"
NotaVariant = Literal["replace_gold", "remove_gold_append", "wrong_extra"]
NotaPosition = Literal["last", "seeded"]


class ChoiceItem(BaseModel):
    """A multiple-choice question (options in order, ``gold`` the index of the right one), with its image
    path if any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    options: list[str] = Field(min_length=2, max_length=26)
    gold: int = Field(ge=0)
    image: str | None = None
    variant: str = "clean"

    @model_validator(mode="after")
    def _gold_is_an_option(self) -> ChoiceItem:
        if self.gold >= len(self.options):
            raise ValueError(f"gold index {self.gold} is not one of the {len(self.options)} options")
        if len({option.strip().lower() for option in self.options}) != len(self.options):
            raise ValueError("options repeat")
        return self


def letters(count: int) -> str:
    """The option letters of ``count`` options: "AB…"."""
    return string.ascii_uppercase[:count]


def choice_prompt(item: ChoiceItem) -> str:
    """The question, one lettered option per line, and the instruction to answer with the letter."""
    lines = [
        item.question,
        *(
            f"{letter}. {option}"
            for letter, option in zip(letters(len(item.options)), item.options, strict=True)
        ),
    ]
    return "\n".join([*lines, "Answer with the letter of the correct option."])


def _insert(options: list[str], position: NotaPosition, seed: int, item_id: str) -> tuple[list[str], int]:
    index = (
        len(options) if position == "last" else random.Random(f"{seed}:{item_id}").randint(0, len(options))
    )
    return [*options[:index], NOTA, *options[index:]], index


def nota_item(
    item: ChoiceItem, variant: NotaVariant, position: NotaPosition = "last", seed: int = 0
) -> ChoiceItem:
    """``item`` perturbed by ``variant``; where NOTA is added, it goes last or at a position seeded by
    ``seed`` and the item id (``replace_gold`` keeps the gold option's place: its variant name still records
    ``position``)."""
    others = [option for index, option in enumerate(item.options) if index != item.gold]
    if variant == "replace_gold":
        options, gold = [*others[: item.gold], NOTA, *others[item.gold :]], item.gold
    elif variant == "remove_gold_append":
        options, gold = _insert(others, position, seed, item.item_id)
    else:
        options, index = _insert(list(item.options), position, seed, item.item_id)
        gold = item.gold + (index <= item.gold)
    return item.model_copy(update={"options": options, "gold": gold, "variant": f"{variant} ({position})"})


def parse_choice(text: str, item: ChoiceItem) -> int | None:
    """The option a free answer picks: a single standalone capital letter of the item's options (a lower-case
    "a" is an article), else the one option whose text it contains; None when it names none or several."""
    valid = letters(len(item.options))
    found = {m for m in re.findall(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])", text) if m in valid}
    if len(found) == 1:
        return valid.index(found.pop())
    named = [index for index, option in enumerate(item.options) if option.lower() in text.lower()]
    return named[0] if len(named) == 1 else None
