import pandas as pd
import pytest

from flipbank.curation import CurationConfig, answer_pairs, curate_flipbank, summarise_flipbank
from flipbank.records import Paraphrase, Phenomenon, QuestionRecord
from flipbank.similarity import EmbeddingSimilarity

QUESTION = QuestionRecord(
    question_id="q1",
    question_type="presence",
    answer="yes",
    image="img/1.png",
    finding="pleural effusion",
    original_question="Is there a pleural effusion?",
    paraphrases=[
        Paraphrase(text="Is a pleural effusion present?", phenomenon=Phenomenon.SYNTACTIC_RESTRUCTURING),
        Paraphrase(text="Is there any pleural effusion?", phenomenon=Phenomenon.SCOPE_QUANTIFICATION),
        Paraphrase(text="What is the weather like today?", phenomenon=Phenomenon.LEXICAL_SUBSTITUTION),
        Paraphrase(text="Is there no pleural effusion?", phenomenon=Phenomenon.NEGATION_PATTERN),
    ],
    source="test",
)


def _row(variant: int, answer: str | None, margin: float, condition: str = "none") -> dict[str, object]:
    text = QUESTION.original_question if variant == 0 else QUESTION.paraphrases[variant - 1].text
    phenomenon = None if variant == 0 else QUESTION.paraphrases[variant - 1].phenomenon.value
    return {
        "question_id": "q1",
        "variant_index": variant,
        "prompt_text": text,
        "phenomenon": phenomenon,
        "image_condition": condition,
        "parsed_answer": answer,
        "margin": margin,
    }


ROWS = pd.DataFrame(
    [
        _row(0, "yes", 1.0),
        _row(1, "no", -0.5),  # flips, similar: kept
        _row(2, None, 0.1),  # hedged: removed
        _row(3, "no", -2.0),  # flips, unrelated text: removed by similarity
        _row(4, "yes", 0.3),  # no flip
        _row(1, "yes", 0.4, condition="real"),  # another condition: ignored
    ]
)


@pytest.fixture(scope="module")
def minilm() -> EmbeddingSimilarity:
    return EmbeddingSimilarity()


def test_answer_pairs_join_each_paraphrase_to_its_original() -> None:
    pairs = answer_pairs(ROWS, "none")
    assert list(pairs["variant_index"]) == [1, 2, 3, 4]
    assert set(pairs["parsed_answer_original"]) == {"yes"}


def test_curation_applies_every_criterion(minilm: EmbeddingSimilarity) -> None:
    result = curate_flipbank(ROWS, [QUESTION], minilm, CurationConfig(similarity_threshold=0.8))
    assert [case.paraphrase for case in result.cases] == ["Is a pleural effusion present?"]
    case = result.cases[0]
    assert case.direction == "yes_to_no" and case.image == "img/1.png"
    assert case.original_margin == 1.0 and case.paraphrase_margin == -0.5 and case.similarity > 0.8
    assert (result.pairs_considered, result.removed_excluded_answer) == (4, 1)
    assert (result.removed_no_flip, result.removed_low_similarity) == (1, 1)
    assert result.similarity_model == "all-MiniLM-L6-v2"


def test_threshold_above_every_similarity_keeps_nothing(minilm: EmbeddingSimilarity) -> None:
    result = curate_flipbank(ROWS, [QUESTION], minilm, CurationConfig(similarity_threshold=0.9999))
    assert result.cases == [] and result.removed_low_similarity == 2


def test_similarity_ranks_paraphrases_above_unrelated_text(minilm: EmbeddingSimilarity) -> None:
    scores = minilm.pairwise(
        ["Is there a pleural effusion?", "Is there a pleural effusion?", "Same text"],
        ["Is a pleural effusion present?", "What is the weather like today?", "Same text"],
    )
    assert scores[0] > 0.8 > 0.3 > scores[1]
    assert abs(scores[2] - 1.0) < 1e-5
    with pytest.raises(ValueError, match="equal lengths"):
        minilm.pairwise(["a"], [])


def test_summary_counts(minilm: EmbeddingSimilarity) -> None:
    result = curate_flipbank(ROWS, [QUESTION], minilm, CurationConfig(similarity_threshold=-1.0))
    summary = summarise_flipbank(result.cases)
    assert summary.size == 2 and summary.unique_images == 1
    assert summary.directions == {"yes_to_no": 2}
    assert summary.phenomena == {"syntactic_restructuring": 1, "lexical_substitution": 1}
    assert "FlipBank: 2 pairs" in summary.format()
