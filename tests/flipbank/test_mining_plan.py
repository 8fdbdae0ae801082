"""The mining plan: which prompts run, in what order."""

from collections.abc import Callable
from itertools import groupby

from flipbank.demo_bank import load_demo_bank
from flipbank.images import ImageCondition
from flipbank.mining_plan import MiningConfig, MiningJob, plan_jobs


def _runs(jobs: list[MiningJob], key: Callable[[MiningJob], object]) -> list[object]:
    return [value for value, _ in groupby(jobs, key=key)]


def test_each_condition_runs_its_pictures_one_after_another_shortest_prompts_first() -> None:
    bank = load_demo_bank()
    settings = MiningConfig(image_conditions=tuple(ImageCondition))
    jobs = plan_jobs(bank, settings)
    assert len(jobs) == len({job.key for job in jobs}) == 4 * sum(1 + len(q.paraphrases) for q in bank)
    assert _runs(jobs, lambda job: job.condition) == list(settings.image_conditions)
    order = {question.question_id: index for index, question in enumerate(bank)}
    for condition in tuple(ImageCondition):
        shown = [job for job in jobs if job.condition == condition]
        pictures = _runs(shown, lambda job: job.image)
        assert len(pictures) == len(set(pictures)) == len({job.image for job in shown})  # one run each
        for _, same_picture in groupby(shown, key=lambda job: job.image):
            keys = [
                (len(job.text), order[job.question.question_id], job.variant_index) for job in same_picture
            ]
            assert keys == sorted(keys)  # by length, question order among equals
