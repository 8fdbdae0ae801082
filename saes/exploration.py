"""Notebook helpers for looking at one feature: its activation at every token of a prompt set (and the
top-activating tokens and prompts), on a user-typed question, and its direct logit effect on Yes vs No."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from jaxtyping import Float
from PIL import Image
from torch import Tensor, nn

from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import PromptInput, PromptTemplate, batched, encode_prompts
from interp.vocab_positions import no_positions
from saes.features import CHEAP_ARCHITECTURES, decoder_row, encode_all, feature_slice
from saes.loading import LoadedSAE
from saes.token_mask import DEFAULT_TOKEN_FILTER, TokenFilter, included_positions


def feature_activation(
    loaded: LoadedSAE, feature: int, resid: Float[Tensor, "*batch d_in"]
) -> Float[Tensor, " *batch"]:
    """One feature's activation, from its encoder column when the architecture allows, else by full encode."""
    if loaded.sae.cfg.architecture() in CHEAP_ARCHITECTURES:
        with torch.no_grad():
            return feature_slice(loaded.sae, [feature]).encode(resid)[..., 0]
    return encode_all(loaded.sae, resid)[..., feature]


def token_activations(
    handle: ModelHandle,
    loaded: LoadedSAE,
    feature: int,
    prompts: Sequence[PromptInput],
    template: PromptTemplate,
    token_filter: TokenFilter = DEFAULT_TOKEN_FILTER,
    batch_size: int = 16,
) -> pd.DataFrame:
    """One row per real (non-padding) token: prompt index, question, position (from the first real token),
    token text, the feature's activation, and whether ``token_filter`` counts the position."""
    rows: list[dict[str, object]] = []
    for start, batch in zip(range(0, len(prompts), batch_size), batched(prompts, batch_size), strict=True):
        inputs = encode_prompts(handle, batch, template)
        counted = included_positions(handle, inputs, token_filter).cpu()
        with (
            ResidCapture(handle.layers, [loaded.layer], positions="all", stop_early=True) as capture,
            torch.inference_mode(),
        ):
            handle.model(**inputs, use_cache=False)
        acts = feature_activation(loaded, feature, capture.activations[loaded.layer]).float().cpu()
        ids, mask = inputs["input_ids"].cpu(), inputs["attention_mask"].cpu().bool()
        for row in range(len(batch)):
            real = mask[row].nonzero().flatten()
            tokens = handle.tokenizer.convert_ids_to_tokens(ids[row, real].tolist())
            for position, (column, token) in enumerate(zip(real.tolist(), tokens, strict=True)):
                rows.append(
                    {
                        "prompt_index": start + row,
                        "question": batch[row].question,
                        "position": position,
                        "token": token,
                        "activation": float(acts[row, column]),
                        "counted": bool(counted[row, column]),
                    }
                )
    return pd.DataFrame(rows)


def top_activating_tokens(table: pd.DataFrame, k: int = 20) -> pd.DataFrame:
    """The ``k`` counted tokens with the highest activation, with a few tokens of left context."""
    counted = table[table["counted"]]
    top = counted.nlargest(k, "activation").copy()
    top["context"] = [
        "".join(
            table[
                (table.prompt_index == r.prompt_index)
                & table.position.between(r.position - 6, r.position - 1)
            ].token
        )
        + f"[[{r.token}]]"
        for r in top.itertuples()
    ]
    return top.reset_index(drop=True)


def top_activating_prompts(table: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The ``k`` prompts whose highest counted activation is largest, with that token."""
    counted = table[table["counted"]]
    best = counted.loc[counted.groupby("prompt_index")["activation"].idxmax()]
    return best.nlargest(k, "activation").reset_index(drop=True)[
        ["prompt_index", "question", "token", "activation"]
    ]


def activation_on_question(
    handle: ModelHandle,
    loaded: LoadedSAE,
    feature: int,
    question: str,
    template: PromptTemplate,
    image: Image.Image | None = None,
    token_filter: TokenFilter = DEFAULT_TOKEN_FILTER,
) -> pd.DataFrame:
    """The feature's activation at every position of one user-typed question, rendered in ``template``."""
    table = token_activations(handle, loaded, feature, [PromptInput(question, image)], template, token_filter)
    return table.drop(columns=["prompt_index", "question"])


@dataclass(frozen=True)
class DirectLogitEffect:
    """The change in logit(Yes), logit(No) and their difference per unit of feature activation, through the
    direct path only (decoder row → final norm → unembedding), with the final norm's scale held fixed."""

    feature: int
    yes: float
    no: float
    yes_minus_no: float
    norm_scale: float


def final_norm(handle: ModelHandle) -> nn.Module:
    """The final RMSNorm before the unembedding (``model.model[.language_model].norm``)."""
    inner = handle.model.model
    language_model = getattr(inner, "language_model", None)
    norm = getattr(language_model if language_model is not None else inner, "norm", None)
    if not isinstance(norm, nn.Module):
        raise ValueError(f"{type(handle.model).__name__} has no final norm where Gemma 3 keeps it")
    return norm


def final_resid_scale(handle: ModelHandle, prompts: Sequence[PromptInput], template: PromptTemplate) -> float:
    """Mean RMS of the last layer's output at the final position: the frozen final-norm divisor."""
    inputs = encode_prompts(handle, list(prompts), template)
    with (
        ResidCapture(handle.layers, [handle.n_layers - 1], positions="last") as capture,
        torch.inference_mode(),
    ):
        handle.model(**inputs, logits_to_keep=no_positions(), use_cache=False)
    last = capture.activations[handle.n_layers - 1].float()
    return float(last.pow(2).mean(-1).sqrt().mean())


def direct_logit_effect(
    handle: ModelHandle,
    loaded: LoadedSAE,
    feature: int,
    template: PromptTemplate,
    reference_prompts: Sequence[PromptInput] = (),
) -> DirectLogitEffect:
    """(W_U[Yes] − W_U[No]) · (γ ⊙ W_dec[feature]) / s. The norm's elementwise gain γ is taken from the
    model's own final-norm module (applied to the decoder row rescaled to RMS 1, then scaled back, which is
    exact up to the norm's ε), so no weight convention (Gemma's 1 + w) is assumed. s is the final-norm
    divisor held fixed: the mean RMS of the final residual on ``reference_prompts``, or 1 without them (per
    unit of normalised stream). Later layers' reaction to the feature is ignored: this is the direct path
    only."""
    norm = final_norm(handle)
    direction = decoder_row(loaded.sae, feature).float()
    rms = direction.pow(2).mean().sqrt()
    weight = next(norm.parameters())
    with torch.no_grad():
        gained = norm((direction / rms).to(device=weight.device, dtype=weight.dtype)).float() * rms.to(
            weight.device
        )
    scale = final_resid_scale(handle, reference_prompts, template) if reference_prompts else 1.0
    tokens = handle.yes_no_tokens(template.answer_leading_space)
    unembedding = handle.model.get_output_embeddings().weight  # type: ignore[union-attr]
    rows = unembedding[[tokens.primary_yes, tokens.primary_no]].detach().float().to(gained.device)
    yes, no = (rows @ gained / scale).tolist()
    return DirectLogitEffect(feature=feature, yes=yes, no=no, yes_minus_no=yes - no, norm_scale=scale)
