"""The uncertainty step: the estimates that need extra generations, on each original question under the
study's primary image condition: sampled answers (their entropy over parsed content, and the majority
answer) and verbalized confidence (a second greedy pass). The estimates that need no extra forward (the
margin's, the answer's NLL, paraphrase spread) come from the flip study's rows; the report joins both."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from tqdm.auto import tqdm

from experiments import run_files
from experiments.steps.mining import ImageLoader
from experiments.steps.study_context import StudyContext, question_subset
from experiments.study_config import UncertaintyConfig
from flipbank.generated_uncertainty import (
    UNPARSED,
    VERBALIZED_TOKENS,
    answer_content,
    confidence_question,
    majority_answer,
    parse_confidence,
    sampling_entropy_bits,
)
from interp.answer_sampling import sample_answers
from interp.generation import generate_answers
from interp.handle import ModelHandle
from interp.prompts import PromptInput, PromptTemplate


def original_rows(rows: pd.DataFrame, condition: str, question_ids: Sequence[str] | None) -> pd.DataFrame:
    """The originals' mined rows under ``condition`` (of ``question_ids`` when given), in question order."""
    chosen = rows.loc[(rows["variant_index"] == 0) & (rows["image_condition"] == condition)]
    if question_ids is not None:
        chosen = chosen.loc[chosen["question_id"].isin(set(question_ids))]
    return chosen.sort_values("question_id").reset_index(drop=True)


def _prompts(originals: pd.DataFrame, texts: Sequence[str], loader: ImageLoader | None) -> list[PromptInput]:
    images = [None if loader is None or image is None else loader(image) for image in originals["image"]]
    return [PromptInput(text, image) for text, image in zip(texts, images, strict=True)]


def _verbalized(
    handle: ModelHandle, batch: pd.DataFrame, loader: ImageLoader | None, template: PromptTemplate
) -> list[str]:
    """The second pass: each question shown with the model's answer, asked for a confidence from 0 to 100."""
    pairs = zip(batch["prompt_text"], batch["answer_text"], strict=True)
    asked = [confidence_question(question, answer) for question, answer in pairs]
    prompts = _prompts(batch, asked, loader)
    return generate_answers(handle, prompts, template, VERBALIZED_TOKENS, reuse_image_prefix=True).texts


def _batch_estimates(
    handle: ModelHandle,
    batch: pd.DataFrame,
    loader: ImageLoader | None,
    template: PromptTemplate,
    config: UncertaintyConfig,
    seed: int,
) -> pd.DataFrame:
    prompts = _prompts(batch, list(batch["prompt_text"]), loader)
    samples = sample_answers(
        handle,
        prompts,
        template,
        keys=list(batch["question_id"]),
        n_samples=config.n_samples,
        temperature=config.temperature,
        top_p=config.top_p,
        max_new_tokens=config.max_new_tokens,
        seed=seed,
    )
    found = pd.DataFrame(
        {
            "question_id": batch["question_id"].to_numpy(),
            "samples": samples,
            "sampling_entropy_bits": [sampling_entropy_bits(s) for s in samples],
            "majority_answer": [majority_answer(s) for s in samples],
            "unparsed_samples": [sum(answer_content(t) == UNPARSED for t in s) for s in samples],
        }
    )
    verbalized = _verbalized(handle, batch, loader, template) if config.verbalized else None
    if verbalized is None:
        return found.assign(verbalized_confidence=float("nan"))
    return found.assign(
        verbalized_text=verbalized, verbalized_confidence=[parse_confidence(text) for text in verbalized]
    )


def generated_uncertainty(
    handle: ModelHandle,
    originals: pd.DataFrame,
    loader: ImageLoader | None,
    template: PromptTemplate,
    config: UncertaintyConfig,
    seed: int,
    batch_size: int = 8,
) -> pd.DataFrame:
    """Per original question: its samples, their entropy (bits) and majority answer, the unparsed count and,
    with ``config.verbalized``, the verbalized answer and its parsed confidence (NaN when it has no number in
    0–100). Batches of ``batch_size`` prompts, each sampled ``config.n_samples`` times after one prefill."""
    batches = [originals.iloc[start : start + batch_size] for start in range(0, len(originals), batch_size)]
    frames = [
        _batch_estimates(handle, batch, loader, template, config, seed)
        for batch in tqdm(batches, desc="uncertainty", unit="batch")
    ]
    return pd.concat(frames, ignore_index=True).astype({"verbalized_confidence": float})


def uncertainty_step(context: StudyContext) -> None:
    """Sampling entropy and verbalized confidence on the originals (skipped without an ``[uncertainty]``
    entry); the report's uncertainty section adds them to the estimates from the flip study's rows."""
    config = context.config.uncertainty
    if config is None:
        print("[uncertainty] no [uncertainty] entry in the study file; the report uses the mined rows alone")
        return
    ids = None
    if config.questions is not None:
        chosen = question_subset(context.questions, config.questions, context.config.seed)
        ids = [question.question_id for question in chosen]
    originals = original_rows(context.rows(), context.primary_condition, ids)
    batch_size = max(1, context.config.model.batch_size // 2)
    frame = generated_uncertainty(
        context.handle,
        originals,
        context.image_loader,
        context.template,
        config,
        context.config.seed,
        batch_size,
    )
    frame.to_parquet(run_files.output_path(context.folder, run_files.UNCERTAINTY_GENERATED), index=False)
    parsed = frame["verbalized_confidence"].notna().mean()
    print(
        f"{len(frame)} questions: mean sampling entropy {frame['sampling_entropy_bits'].mean():.3f} bits, "
        f"verbalized confidence parsed for {parsed:.0%}"
    )
