import pytest
import torch
from PIL import Image
from sae_lens import JumpReLUSAE, JumpReLUSAEConfig

from interp.handle import ModelHandle
from interp.hooks import ResidCapture
from interp.prompts import CHAT_TEMPLATE, FEW_SHOT_TEMPLATE, PromptInput, encode_prompts
from saes.loading import LoadedSAE
from saes.token_mask import TokenFilter, included_positions
from saes.transfer import transfer_check

PROMPTS = [
    PromptInput(q)
    for q in (
        "Is there a pleural effusion?",
        "Any fluid here?",
        "Is the heart enlarged?",
        "Is there a pneumothorax?",
    )
]


def test_error_term_splice_leaves_margins_unchanged(tiny_handle: ModelHandle, tiny_sae: LoadedSAE) -> None:
    report = transfer_check(tiny_handle, tiny_sae, PROMPTS, FEW_SHOT_TEMPLATE, batch_size=3)
    assert report.margin_shift_with_error.max_abs < 1e-4
    assert report.margin_shift_reconstruction.mean_abs > 1e-3  # a random SAE does move the margin
    assert 0 < report.mean_l0 < tiny_sae.d_sae and 0 <= report.dead_fraction < 1
    assert report.r_squared == pytest.approx(1 - report.fvu)
    assert "FVU" in report.summary()


def test_fvu_and_token_count_match_a_direct_computation(
    tiny_handle: ModelHandle, tiny_sae: LoadedSAE
) -> None:
    report = transfer_check(tiny_handle, tiny_sae, PROMPTS, CHAT_TEMPLATE)
    inputs = encode_prompts(tiny_handle, PROMPTS, CHAT_TEMPLATE)
    with ResidCapture(tiny_handle.layers, [2], positions="all") as capture, torch.no_grad():
        tiny_handle.model(**inputs)
    x = capture.activations[2][included_positions(tiny_handle, inputs)].double()
    recon = tiny_sae.sae.decode(tiny_sae.sae.encode(x.float())).double()
    expected = (x - recon).pow(2).sum() / (x - x.mean(0)).pow(2).sum()
    assert report.n_tokens == x.shape[0] == int(inputs["attention_mask"].sum()) - len(PROMPTS)
    assert report.fvu == pytest.approx(float(expected), rel=1e-6)
    # BOS is also one of the special tokens that a multimodal model leaves out by default
    with_bos = TokenFilter(exclude_bos=False, exclude_special=False)
    without_bos = TokenFilter(exclude_bos=True, exclude_special=False)
    counted = [
        transfer_check(tiny_handle, tiny_sae, PROMPTS, CHAT_TEMPLATE, f).n_tokens
        for f in (with_bos, without_bos)
    ]
    assert counted == [report.n_tokens + len(PROMPTS), report.n_tokens]


def test_a_lossless_sae_has_zero_fvu_and_no_margin_shift(
    tiny_handle: ModelHandle, xray_like_image: Image.Image
) -> None:
    """relu(x) − relu(−x) = x: a JumpReLU SAE with W_enc = [I, −I], W_dec = [I; −I] and zero thresholds."""
    sae = JumpReLUSAE(JumpReLUSAEConfig(d_in=64, d_sae=128, apply_b_dec_to_input=False))
    eye = torch.eye(64)
    with torch.no_grad():
        sae.W_enc.copy_(torch.cat([eye, -eye], dim=1))
        sae.W_dec.copy_(torch.cat([eye, -eye], dim=0))
        for parameter in (sae.b_enc, sae.b_dec, sae.threshold):
            parameter.zero_()
    lossless = LoadedSAE(sae=sae, layer=1, hook_point="model.layers.1.output", source="identity")
    prompts = [PromptInput(p.question, xray_like_image) for p in PROMPTS[:2]]
    report = transfer_check(tiny_handle, lossless, prompts, CHAT_TEMPLATE)
    assert report.fvu < 1e-10
    assert report.margin_shift_reconstruction.max_abs < 1e-4
    assert report.mean_l0 == pytest.approx(64, abs=1)  # every coordinate is nonzero: one of ±x fires
    assert report.dead_fraction < 0.25  # a feature is dead only if its coordinate never has that sign
