import pytest

from saes.register import formality_score, pair_register


@pytest.mark.parametrize(
    ("phenomenon", "paraphrase", "register"),
    [
        ("specificity_modulation", "Is there radiographic evidence of cardiomegaly?", "formal"),
        ("specificity_modulation", "Does this frontal chest radiograph demonstrate a lung lesion?", "formal"),
        ("specificity_modulation", "Spot any airspace opacity on this film?", "casual"),
        ("specificity_modulation", "Is there a lung lesion or not?", "casual"),
        ("specificity_modulation", "Is there cardiomegaly?", "neutral"),
        ("lexical_substitution", "Any fluid here?", "other"),
    ],
)
def test_register_labels(phenomenon: str, paraphrase: str, register: str) -> None:
    assert pair_register(phenomenon, paraphrase) == register


def test_markers_match_whole_words_only() -> None:
    assert formality_score("Is there anything there?") == 0  # "any" inside "anything" is not a marker
    assert formality_score("ANY X-RAY here") == -3
