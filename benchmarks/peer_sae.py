"""The SAE side of the peer benchmark: a random sae-lens JumpReLU SAE calibrated on the model's activations,
the splice with error term and the two ways to zero-clamp a feature, as residual-stream edits."""

from __future__ import annotations

import torch
from jaxtyping import Float
from sae_lens import JumpReLUSAE, JumpReLUSAEConfig
from torch import Tensor

from interp.hooks import ResidEditFunction
from saes.features import encode_all

#: Each feature's threshold sits at this quantile of its pre-activations on the sample, so about 1 % of
#: features fire per token (L0 ≈ 160 at width 16k), near Gemma Scope's sparsity.
THRESHOLD_QUANTILE = 0.99


def random_jumprelu_sae(
    sample: Float[Tensor, "n d_in"], d_sae: int, hook_name: str, seed: int = 0
) -> JumpReLUSAE:
    """A random JumpReLU SAE of width ``d_sae`` (unit-norm decoder rows, thresholds from ``sample``), whose
    metadata names ``hook_name`` (the bridge hook that sae-lens attaches it to)."""
    d_in = sample.shape[-1]
    config = JumpReLUSAEConfig(d_in=d_in, d_sae=d_sae, apply_b_dec_to_input=False)
    config.metadata.hook_name = hook_name
    sae = JumpReLUSAE(config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        w_dec = torch.randn(d_sae, d_in, generator=generator)
        sae.W_dec.copy_(w_dec / w_dec.norm(dim=-1, keepdim=True))
        sae.W_enc.copy_(torch.randn(d_in, d_sae, generator=generator) / d_in**0.5)
        sae.b_enc.copy_(0.1 * torch.randn(d_sae, generator=generator))
        sae.b_dec.zero_()
        pre = sample.float() @ sae.W_enc + sae.b_enc
        sae.threshold.copy_(torch.quantile(pre, THRESHOLD_QUANTILE, dim=0).clamp(min=1e-3))
    return sae.eval()


def most_active_feature(sae: JumpReLUSAE, sample: Float[Tensor, "n d_in"]) -> int:
    """The feature with the largest summed activation over ``sample`` (so a clamp of it changes something)."""
    return int(encode_all(sae, sample.float()).sum(0).argmax())


def splice_with_error(sae: JumpReLUSAE) -> ResidEditFunction:
    """x ← decode(encode(x)) + (x − decode(encode(x))): one encode and one decode per forward."""

    def edit(hidden: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        x = hidden.to(sae.dtype)
        reconstruction = sae.decode(sae.encode(x))
        return reconstruction + (x - reconstruction)

    return edit


def full_width_clamp(sae: JumpReLUSAE, feature: int) -> ResidEditFunction:
    """The paper's zero-clamp: encode every feature, then subtract f_k(x)·W_dec[k]."""
    row = sae.W_dec[feature].detach()

    def edit(hidden: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        activations = sae.encode(hidden.to(sae.dtype))[..., feature : feature + 1]
        return hidden - (activations * row).to(hidden.dtype)

    return edit
