from saes.activation_corpus import bank_questions, demo_bank_path
from saes.pairs import pairs_from_psf_json


def test_demo_bank_pairs_are_read_against_their_originals() -> None:
    pairs = pairs_from_psf_json(demo_bank_path())
    questions = bank_questions()
    assert len(pairs) == sum(len(texts) - 1 for texts in questions.values())
    assert len({pair.pair_id for pair in pairs}) == len(pairs)
    first = pairs[0]
    assert first.original.question == questions[first.question_id][0]
    assert first.paraphrase.question == questions[first.question_id][1]
    assert {pair.phenomenon for pair in pairs} == {
        "lexical_substitution",
        "syntactic_restructuring",
        "negation_pattern",
        "scope_quantification",
        "specificity_modulation",
    }
    assert not first.has_margins and first.flipped is None
