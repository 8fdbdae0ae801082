import doctest
import json
from pathlib import Path

import flipbank.patients
from flipbank.images import ImageCondition
from flipbank.mining_plan import MiningConfig, plan_jobs
from flipbank.patients import patient_from_path, with_patients
from flipbank.readers import read_flipbank_csv, read_psf_mimic_json
from flipbank.records import Paraphrase, Phenomenon, QuestionRecord


def _question(question_id: str, image: str, patient: str | None = None) -> QuestionRecord:
    return QuestionRecord(
        question_id=question_id,
        question_type="presence",
        answer="yes",
        image=image,
        finding="pleural effusion",
        original_question="Is there a pleural effusion?",
        paraphrases=[Paraphrase(text="Any pleural fluid?", phenomenon=Phenomenon.LEXICAL_SUBSTITUTION)],
        source="test",
        patient=patient,
    )


def test_docstring_example_runs() -> None:
    assert doctest.testmod(flipbank.patients).failed == 0


def test_patient_from_mimic_paths_and_custom_patterns() -> None:
    assert patient_from_path("p19/p19000001/s1/a.jpg") == "p19000001"
    assert patient_from_path(r"C:\data\files\p10\p10000032\s5\b.jpg") == "p10000032"
    assert patient_from_path("images/img_0001.png") is None
    assert patient_from_path("padchest/123_pat456_study.png", r"pat(\d+)") == "456"
    assert patient_from_path("vindr/P-77-x.png", r"P-\d+") == "P-77"


def test_with_patients_keeps_explicit_ids_and_fills_from_paths() -> None:
    questions = [
        _question("a", "files/p10/p10000032/s1/x.jpg"),
        _question("b", "files/p10/p10000032/s2/y.jpg", patient="given"),
        _question("c", "other/z.png"),
    ]
    filled = with_patients(questions)
    assert [q.patient for q in filled] == ["p10000032", "given", None]
    assert with_patients(questions, None) == questions


def test_swapped_images_never_come_from_the_same_patient() -> None:
    questions = [_question(f"q{i}", f"files/p10/p1000000{i // 3}/s{i}/img.jpg") for i in range(9)]
    filled = with_patients(questions)
    settings = MiningConfig(image_conditions=(ImageCondition.SWAPPED,))
    for seed in range(10):
        jobs = plan_jobs(filled, MiningConfig(image_conditions=settings.image_conditions, seed=seed))
        for job in jobs:
            assert patient_from_path(job.image or "") != job.question.patient


def test_readers_take_an_optional_patient_id(tmp_path: Path) -> None:
    document = {
        "results": [
            {
                "question_id": "q1",
                "question_type": "presence",
                "answer": "yes",
                "filename": "a.png",
                "original_question": "Is there a pleural effusion?",
                "paraphrases": [{"text": "Any pleural fluid?", "phenomenon": "lexical_substitution"}],
                "patient_id": "P-1",
            }
        ]
    }
    path = tmp_path / "mimic.json"
    path.write_text(json.dumps(document))
    assert read_psf_mimic_json(path).records[0].patient == "P-1"
    csv_path = tmp_path / "bank.csv"
    header = "question_id,image_path,ground_truth,original_question,paraphrase,phenomenon,patient_id\n"
    rows = (
        "q1,a.png,yes,Is there an effusion?,Any fluid?,lexical_substitution,P-9\n"
        "q1,a.png,yes,Is there an effusion?,Fluid present?,syntactic_restructuring,P-8\n"
    )
    csv_path.write_text(header + rows)
    result = read_flipbank_csv(csv_path, skip_invalid=True)
    assert result.records[0].patient == "P-9"
    assert result.skipped and result.skipped[0].field == "patient_id"
