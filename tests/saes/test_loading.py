import json
import socket
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from interp.handle import ModelHandle
from saes.gemma_scope_format import CONFIG_FILE, PARAMS_FILE, resid_post_layer
from saes.loading import SAELoadError, load_sae
from tests.saes.sae_factories import random_jumprelu, write_gemma_scope, write_hf_cache_entry

RELEASE_ALL = "gemma-scope-2-4b-it-res-all"
REPO_4B_IT = "google/gemma-scope-2-4b-it"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the offline load tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize(
    ("hook", "layer"),
    [
        ("model.layers.17.output", 17),
        ("model.language_model.layers.3.output", 3),
        ("blocks.9.hook_resid_post", 9),
        ("model.layers.17.post_feedforward_layernorm.output", None),
        ("model.layers.5.self_attn.o_proj.input", None),
    ],
)
def test_hook_points_map_to_decoder_layers(hook: str, layer: int | None) -> None:
    assert resid_post_layer(hook) == layer


def test_local_gemma_scope_folder_loads_with_its_exact_weights(
    tiny_handle: ModelHandle, tiny_sae_folder: Path
) -> None:
    loaded = load_sae(tiny_sae_folder, tiny_handle)
    params = load_file(tiny_sae_folder / PARAMS_FILE)
    assert loaded.layer == 2 and loaded.hook_point == "model.layers.2.output"
    assert (loaded.d_in, loaded.d_sae) == (64, 256)
    assert type(loaded.sae).__name__ == "JumpReLUSAE"
    assert torch.equal(loaded.sae.W_enc, params["w_enc"]) and torch.equal(loaded.sae.W_dec, params["w_dec"])
    assert torch.equal(loaded.sae.threshold, params["threshold"])
    assert not loaded.sae.cfg.apply_b_dec_to_input  # Gemma Scope 2 semantics, set by sae-lens's converter
    assert loaded.sae.dtype == tiny_handle.dtype and loaded.sae.W_enc.device == tiny_handle.device


def test_cached_release_loads_offline_through_the_release_call(
    tiny_handle: ModelHandle, tmp_path: Path, no_network: None
) -> None:
    """A 4B-shaped release entry, scaled down to tiny-mm's width, with the multimodal model's hook name."""
    sae = random_jumprelu(64, 128, seed=5)
    source = write_gemma_scope(tmp_path / "src", sae, 3, "google/gemma-3-4b-it")
    write_hf_cache_entry(tmp_path / "hub", REPO_4B_IT, "resid_post_all/layer_3_width_16k_l0_small", source)
    loaded = load_sae(
        RELEASE_ALL, tiny_handle, sae_id="layer_3_width_16k_l0_small", hf_cache_dir=tmp_path / "hub"
    )
    assert loaded.layer == 3 and "HF cache" in loaded.source
    assert loaded.sae.cfg.metadata.hook_name == "blocks.3.hook_resid_post"
    assert loaded.sae.cfg.metadata.model_name == "google/gemma-3-4b-it"
    assert torch.equal(loaded.sae.b_dec, sae.b_dec)


def test_release_for_a_missing_layer_is_refused(
    tiny_handle: ModelHandle, tmp_path: Path, no_network: None
) -> None:
    source = write_gemma_scope(tmp_path / "src", random_jumprelu(64, 32), 17, "google/gemma-3-4b-it")
    write_hf_cache_entry(tmp_path / "hub", REPO_4B_IT, "resid_post/layer_17_width_16k_l0_medium", source)
    with pytest.raises(SAELoadError, match=r"reads layer 17 .* has 4 decoder layers"):
        load_sae(
            "gemma-scope-2-4b-it-res",
            tiny_handle,
            "layer_17_width_16k_l0_medium",
            hf_cache_dir=tmp_path / "hub",
        )


def test_uncached_release_offline_says_how_to_download(tiny_handle: ModelHandle, tmp_path: Path) -> None:
    with pytest.raises(SAELoadError, match=r"hf download google/gemma-scope-2-4b-it --include"):
        load_sae(
            "gemma-scope-2-4b-it-res",
            tiny_handle,
            "layer_17_width_16k_l0_medium",
            offline=True,
            hf_cache_dir=tmp_path,
        )
    with pytest.raises(SAELoadError, match="has no SAE 'layer_99'"):
        load_sae("gemma-scope-2-4b-it-res", tiny_handle, "layer_99", offline=True)


def test_width_mismatch_and_non_residual_hooks_are_refused(tiny_handle: ModelHandle, tmp_path: Path) -> None:
    wide = write_gemma_scope(tmp_path / "wide", random_jumprelu(80, 32), 1, "google/gemma-3-4b-it")
    with pytest.raises(SAELoadError, match="d_in 80, but 'tiny-mm' has d_model 64"):
        load_sae(wide, tiny_handle)
    mlp_hook = "model.layers.1.post_feedforward_layernorm.output"
    mlp = write_gemma_scope(tmp_path / "mlp", random_jumprelu(64, 32), 1, "google/gemma-3-4b-it", mlp_hook)
    with pytest.raises(SAELoadError, match="only residual-stream SAEs"):
        load_sae(mlp, tiny_handle)
    with pytest.raises(SAELoadError, match="neither a Gemma Scope 2 SAE"):
        load_sae(tmp_path, tiny_handle)


def test_sae_lens_saved_folder_loads(tiny_handle: ModelHandle, tmp_path: Path) -> None:
    sae = random_jumprelu(64, 48, seed=9, b_dec_in=True)
    sae.cfg.metadata.hook_name = "blocks.1.hook_resid_post"
    sae.save_model(tmp_path / "sae_lens")
    loaded = load_sae(tmp_path / "sae_lens", tiny_handle)
    assert loaded.layer == 1 and loaded.sae.cfg.apply_b_dec_to_input
    assert torch.equal(loaded.sae.W_dec, sae.W_dec)


def test_written_config_is_gemma_scope_shaped(tiny_sae_folder: Path) -> None:
    config = json.loads((tiny_sae_folder / CONFIG_FILE).read_text())
    assert config["architecture"] == "jump_relu" and config["hf_hook_point_in"] == "model.layers.2.output"
    shapes = {name: tuple(t.shape) for name, t in load_file(tiny_sae_folder / PARAMS_FILE).items()}
    assert shapes == {
        "w_enc": (64, 256),
        "w_dec": (256, 64),
        "b_enc": (256,),
        "b_dec": (64,),
        "threshold": (256,),
    }
