"""Figures from small hand-made result frames: traces, axis titles and error bars, and ``write_figures`` on a
hand-made run folder (HTML for every present input, a recorded reason for every missing one)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

from experiments.reporting.figure_causal import (
    clamping_figure,
    latency_figure,
    layer_sweep_figure,
    patching_by_arm_figure,
    patching_by_group_figure,
)
from experiments.reporting.figure_features import (
    feature_delta_scatter_figure,
    feature_image_maps_figure,
    top_features_figure,
)
from experiments.reporting.figure_flipbank import flipbank_composition_figure
from experiments.reporting.figure_inputs import load_run
from experiments.reporting.figure_robustness import (
    flip_rate_by_paraphrase_count_figure,
    flip_rate_by_phenomenon_figure,
    flip_vs_dangerous_figure,
    grounding_figure,
    quadrant_figure,
)
from experiments.reporting.figure_style import FONT_FAMILY, FigureInputError
from experiments.reporting.figures import FIGURES, MANIFEST, build_figures, main, write_figures
from tests.experiments.reporting.test_figure_uncertainty import nota_frame

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CONFIGURATIONS = ("baseline", "clamp f7", "random clamp f3", "normalisation")
#: (label source, share of the parsed answers, count)
LABEL_SOURCES = (("leading_word", 0.9, 90), ("keyword", 0.08, 8), ("fallback", 0.02, 2))
NON_FLIP_ARM = "feature on non-flips"


def _rate(metric: str, group: str, value: float, n: int = 20, condition: str = "real") -> dict[str, object]:
    spread = 0.0 if math.isnan(value) else 0.1
    return {
        "image_condition": condition,
        "metric": metric,
        "group": group,
        "value": value,
        "ci_low": max(value - spread, 0.0) if spread else value,
        "ci_high": min(value + spread, 1.0) if spread else value,
        "n": n,
        "n_excluded": 1,
        "excluded_answers": 2,
    }


def robustness_frame(with_images: bool = True) -> pd.DataFrame:
    condition = "real" if with_images else "none"
    rows = [
        _rate("flip_rate", "all", 0.156, condition=condition),
        _rate("pairwise_flip_rate", "all", 0.08, 120, condition),
        _rate("accuracy", "originals", 0.78, condition=condition),
        _rate("accuracy", "all variants", 0.75, 80, condition),
        _rate("flip_rate_by_phenomenon", "lexical_substitution", 0.1, condition=condition),
        _rate("flip_rate_by_phenomenon", "negation_pattern", 0.3, condition=condition),
        _rate("flip_rate_by_phenomenon", "scope_quantification", 0.2, condition=condition),
    ]
    rows += [_rate("flip_rate_by_paraphrase_count", str(k), 0.1 * k, condition=condition) for k in (3, 1, 2)]
    if with_images:
        rows += [
            _rate("text_only_agreement", "blank", 0.664),
            _rate("blank_image_flip_rate", "all", 0.2),
            _rate("quadrant_fraction", "worst", 0.1),
            _rate("quadrant_fraction", "ideal", 0.5),
            _rate("quadrant_fraction", "fragile", 0.0),
            _rate("quadrant_fraction", "dangerous", 0.4),
            _rate("quadrant_accuracy", "ideal", 0.9, 10),
            _rate("quadrant_accuracy", "fragile", math.nan, 0),
            _rate("quadrant_entropy_bits", "ideal", 0.35, 10),
            _rate("quadrant_entropy_bits", "dangerous", 0.8, 8),
            _rate("text_only_agreement", "none", 0.6),
            _rate("swap_sensitivity", "all", 0.308),
        ]
    rows += [_rate("label_source", source, share, count, condition) for source, share, count in LABEL_SOURCES]
    frame = pd.DataFrame(rows)
    quadrant = frame["metric"].str.startswith("quadrant_")
    frame["reliance_condition"] = [("blank" if q else None) for q in quadrant]
    return frame


def flipbank_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "question_id": ["q1", "q1", "q2", "q3"],
            "direction": ["yes_to_no", "yes_to_no", "no_to_yes", "yes_to_no"],
            "phenomenon": [
                "negation_pattern",
                "lexical_substitution",
                "negation_pattern",
                "scope_quantification",
            ],
            "finding": ["pneumothorax", "pneumothorax", None, "edema"],
        }
    )


def features_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feature": [7, 3, 9],
            "rank": [1, 2, 3],
            "mean_abs_delta": [2.5, 1.5, 0.5],
            "pearson_r": [0.71, -0.2, 0.1],
            "pearson_ci_low": [0.5, -0.6, -0.3],
            "pearson_ci_high": [0.85, 0.3, 0.4],
            "spearman_r": [0.6, -0.1, 0.0],
            "spearman_ci_low": [0.3, -0.5, -0.4],
            "spearman_ci_high": [0.8, 0.3, 0.4],
            "mwu_p": [0.01, 0.5, 0.9],
        }
    )


def feature_pairs_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pair_id": ["flip/0", "flip/1", "control/0", "control/1"],
            "phenomenon": [
                "negation_pattern",
                "lexical_substitution",
                "negation_pattern",
                "scope_quantification",
            ],
            "delta_margin": [-2.0, -1.5, 0.1, -0.2],
            "flipped": [True, True, False, False],
            "delta_f[7]": [3.0, 2.0, 0.0, 0.5],
            "delta_f[3]": [1.0, 0.0, -1.0, 0.0],
        }
    )


def _recovery_row(arm: str, group_by: str, group: str, recovery: float, n: int = 10) -> dict[str, object]:
    """A flip arm's summary row: 8 of the n pairs are margin-sign flips, 2 of them fully reversed."""
    return {
        "arm": arm,
        "group_by": group_by,
        "group": group,
        "n": n,
        "n_sign_flips": 8,
        "n_parsed_not_sign_flips": n - 8,
        "mean_recovery": recovery,
        "mean_recovery_low": recovery - 0.05,
        "mean_recovery_high": recovery + 0.05,
        "median_recovery": recovery,
        "share_recovery_above_50pct": 0.3,
        "aggregate_recovery": recovery / 2,
        "aggregate_recovery_low": recovery / 2 - 0.02,
        "aggregate_recovery_high": recovery / 2 + 0.02,
        "gap_floor": 0.1,
        "n_below_gap_floor": 3,
        "full_reversals": 2,
        "mean_shift": 1.31 * recovery,
        "mean_shift_low": 1.2 * recovery,
        "mean_shift_high": 1.4 * recovery,
        "mean_abs_delta_margin": 1.5 * recovery,
        "mean_abs_delta_margin_low": 1.4 * recovery,
        "mean_abs_delta_margin_high": 1.6 * recovery,
    }


def _control_row(group_by: str, group: str, n: int = 10) -> dict[str, object]:
    """The non-flip control's row: mean |Δmargin| 0.03 logits [0.02, 0.04], no flip-arm metrics."""
    row: dict[str, object] = dict.fromkeys(_recovery_row("", "", "", 0.0), math.nan)
    moved = {
        "mean_abs_delta_margin": 0.03,
        "mean_abs_delta_margin_low": 0.02,
        "mean_abs_delta_margin_high": 0.04,
    }
    return {**row, "arm": NON_FLIP_ARM, "group_by": group_by, "group": group, "n": n, **moved}


def patching_summary_frame() -> pd.DataFrame:
    rows = []
    for arm, recovery in (
        ("feature on flips", 0.448),
        (NON_FLIP_ARM, None),
        ("random feature on flips", 0.01),
    ):
        direction = "yes_to_no" if "on flips" in arm else "none"
        groups = (("all", "all", 10), ("phenomenon", "negation_pattern", 4), ("direction", direction, 6))
        for group_by, group, n in groups:
            if recovery is None:
                rows.append(_control_row(group_by, group, n))
            else:
                rows.append(
                    _recovery_row(
                        arm, group_by, group, recovery + (0.1 if group_by == "phenomenon" else 0), n
                    )
                )
    counts = ["n", "n_sign_flips", "n_parsed_not_sign_flips", "n_below_gap_floor", "full_reversals"]
    return pd.DataFrame(rows).astype(dict.fromkeys(counts, "Int64"))


def layer_sweep_frame() -> pd.DataFrame:
    rows = [
        {"patch": "resid_post (final token)", "layer": layer, **_recovery_row("", "", "", layer / 3)}
        for layer in (2, 0, 1, 3)
    ]
    rows.append({"patch": "SAE feature component", "layer": 2, **_recovery_row("", "", "", 0.4)})
    return pd.DataFrame(rows).drop(columns=["arm", "group_by", "group"])


def clamping_frame() -> pd.DataFrame:
    rows = []
    for index, name in enumerate(CONFIGURATIONS):
        for metric, group, value in (
            ("flip_rate", "all", 0.156 - 0.02 * index),
            ("accuracy", "originals", 0.78),
            ("text_only_agreement", "blank", 0.66),
            ("swap_sensitivity", "all", 0.3),
        ):
            rows.append(
                {
                    **_rate(metric, group, value),
                    "configuration": name,
                    "flip_rate_difference": -0.02 * index,
                    "permutation_p_value": 1.0 if index == 0 else 0.04,
                    "paired_n": 20,
                }
            )
    return pd.DataFrame(rows)


def mining_rows(flipping: int) -> pd.DataFrame:
    """Four questions × (original + 2 paraphrases) × (real, blank): the last ``flipping`` questions flip under
    the real image; questions 2 and 3 answer the same without an image (Dangerous while they do not flip)."""
    rows = []
    for question in range(4):
        for variant in range(3):
            for condition in ("real", "blank"):
                answer = "yes"
                if condition == "real" and variant == 2 and question >= 4 - flipping:
                    answer = "no"
                if condition == "blank" and question < 2:
                    answer = "no"
                rows.append(
                    {
                        "question_id": f"q{question}",
                        "variant_index": variant,
                        "phenomenon": None if variant == 0 else "negation_pattern",
                        "image_condition": condition,
                        "parsed_answer": answer,
                        "ground_truth": "yes",
                        "margin": 1.0 if answer == "yes" else -1.0,
                    }
                )
    return pd.DataFrame(rows)


PROVENANCE = {
    "model_spec": "tiny-mm",
    "device": "cpu",
    "dtype": "float32",
    "prompt_template": "chat:6-shot",
    "git_commit": COMMIT,
    "git_dirty": False,
    "packages": {"torch": "2.13.0+cpu", "transformers": "5.23.0"},
    "settings": {"config_hash": "abc123def456"},
}


def _write_flip_study(folder: Path, with_images: bool) -> None:
    conditions = ["real", "blank", "swapped", "none"] if with_images else ["none"]
    config = {"name": "handmade", "model": {"spec": "tiny-mm"}, "image_conditions": conditions, "seed": 0}
    (folder / "study_config.json").write_text(json.dumps(config))
    (folder / "provenance.json").write_text(json.dumps(PROVENANCE))
    (folder / "flip_study").mkdir()
    robustness_frame(with_images).to_parquet(folder / "flip_study" / "robustness.parquet")
    marker = {"seconds": 12.5, "finished_at": "2026-01-01T00:00:00"}
    (folder / "steps" / "flip_study.done.json").write_text(json.dumps(marker))


def _write_clamping(folder: Path, with_images: bool) -> None:
    clamping = clamping_frame()
    if not with_images:
        clamping = clamping[clamping["metric"].isin(["flip_rate", "accuracy"])]
        clamping.to_parquet(folder / "clamping.parquet")
        return
    clamping.to_parquet(folder / "clamping.parquet")
    for flipping, name in enumerate(CONFIGURATIONS):
        target = folder / "clamping" / name.replace(" ", "_") / "rows.parquet"
        target.parent.mkdir(parents=True)
        mining_rows(flipping).to_parquet(target)


def image_maps_frame() -> pd.DataFrame:
    """Two features on the 2 × 2 token grids of two pictures; feature 3 ten times stronger."""
    return pd.DataFrame(
        [
            {"feature": f, "question_id": q, "finding": "edema", "row": t // 2, "col": t % 2, "activation": v}
            for f, scale in ((7, 1.0), (3, 10.0))
            for q in ("q1", "q2")
            for t, v in enumerate([0.0, 1.0 * scale, 2.0 * scale, 0.5 * scale])
        ]
    )


def write_run_folder(folder: Path, with_images: bool = True, steps: tuple[str, ...] = ("all",)) -> Path:
    """A run folder with every result file, or only the robustness table when ``steps`` is ("flip_study",)."""
    (folder / "steps").mkdir(parents=True)
    _write_flip_study(folder, with_images)
    if steps != ("all",):
        return folder
    flipbank_frame().to_parquet(folder / "flip_study" / "flipbank.parquet")
    (folder / "features").mkdir()
    features_frame().to_parquet(folder / "features" / "features.parquet")
    feature_pairs_frame().to_parquet(folder / "features" / "pairs.parquet")
    (folder / "features" / "transfer.json").write_text(json.dumps({"fvu": 0.12, "mean_l0": 40.0}))
    if with_images:
        image_maps_frame().to_parquet(folder / "features" / "image_maps.parquet")
    (folder / "patching").mkdir()
    patching_summary_frame().to_parquet(folder / "patching" / "summary.parquet")
    layer_sweep_frame().to_parquet(folder / "layer_sweep.parquet")
    _write_clamping(folder, with_images)
    nota_frame().to_parquet(folder / "nota.parquet")
    return folder


def _error_bars(trace: go.Bar | go.Scatter) -> tuple[list[float], list[float]]:
    return list(trace.error_y.array), list(trace.error_y.arrayminus)


def test_flip_rate_by_phenomenon_draws_percent_bars_with_ci_and_the_overall_line() -> None:
    figure = flip_rate_by_phenomenon_figure(robustness_frame())
    (bar,) = figure.data
    assert list(bar.x) == ["lexical substitution", "negation pattern", "scope quantification"]
    assert list(bar.y) == pytest.approx([10.0, 30.0, 20.0])
    above, below = _error_bars(bar)
    assert above == pytest.approx([10.0, 10.0, 10.0]) and below == pytest.approx([10.0, 10.0, 10.0])
    assert figure.layout.yaxis.title.text == "flip rate (%)"
    assert figure.layout.xaxis.title.text == "phenomenon"
    assert figure.layout.shapes[0].y0 == pytest.approx(15.6)


def test_flip_rate_by_paraphrase_count_sorts_counts() -> None:
    figure = flip_rate_by_paraphrase_count_figure(robustness_frame())
    assert list(figure.data[0].x) == [1, 2, 3]
    assert list(figure.data[0].y) == pytest.approx([10.0, 20.0, 30.0])
    assert "count" in figure.layout.xaxis.title.text and "%" in figure.layout.yaxis.title.text


def test_grounding_metrics_and_their_absence_on_a_text_only_run() -> None:
    figure = grounding_figure(robustness_frame())
    assert len(figure.data[0].x) == 4
    assert figure.data[0].y[0] == pytest.approx(66.4)
    assert figure.data[0].error_y.array is not None
    with pytest.raises(FigureInputError, match="text-only"):
        grounding_figure(robustness_frame(with_images=False))


def test_quadrants_are_in_taxonomy_order_and_an_empty_quadrant_leaves_a_gap() -> None:
    figure = quadrant_figure(robustness_frame())
    fractions, accuracy, _ = figure.data
    assert list(fractions.x) == ["Ideal", "Fragile", "Dangerous", "Worst"]
    assert list(fractions.y) == pytest.approx([50.0, 0.0, 40.0, 10.0])
    assert list(accuracy.x) == ["Ideal", "Fragile"] and accuracy.y[1] is None
    assert "vs the blank condition" in figure.layout.title.text


def test_the_quadrant_figure_draws_the_entropy_in_bits_in_its_own_panel() -> None:
    figure = quadrant_figure(robustness_frame())
    entropy = figure.data[2]
    assert entropy.name == "mean yes/no entropy"
    assert list(entropy.x) == ["Ideal", "Dangerous"] and list(entropy.y) == pytest.approx([0.35, 0.8])
    assert _error_bars(entropy)[0] == pytest.approx([0.1, 0.1])  # bits, not percent
    assert entropy.xaxis == "x2" and figure.layout.yaxis2.title.text == "mean yes/no entropy (bits)"
    old = robustness_frame()
    old = old[old["metric"] != "quadrant_entropy_bits"].drop(columns="reliance_condition")
    assert len(quadrant_figure(old).data) == 2  # a table written before the entropy rows


def test_flip_vs_dangerous_annotates_the_correlation_and_draws_both_cis() -> None:
    configurations = pd.DataFrame(
        {
            "configuration": ["a", "b", "c"],
            "flip_rate": [0.1, 0.2, 0.3],
            "flip_rate_low": [0.05, 0.1, 0.2],
            "flip_rate_high": [0.15, 0.3, 0.4],
            "dangerous_fraction": [0.2, 0.3, 0.5],
            "dangerous_low": [0.1, 0.2, 0.4],
            "dangerous_high": [0.3, 0.4, 0.6],
        }
    )
    figure = flip_vs_dangerous_figure(configurations)
    assert "Pearson r = 0.98, n = 3" in figure.layout.title.text
    assert figure.data[0].error_x.array is not None and figure.data[0].error_y.array is not None
    assert figure.layout.xaxis.title.text.startswith("Dangerous fraction (%")
    with pytest.raises(FigureInputError, match="two configurations"):
        flip_vs_dangerous_figure(configurations.head(1))


def test_flipbank_composition_counts_directions_phenomena_and_findings() -> None:
    figure = flipbank_composition_figure(flipbank_frame())
    directions, phenomena, findings = figure.data
    assert dict(zip(directions.x, directions.y, strict=True)) == {"Yes→No": 3, "No→Yes": 1}
    assert dict(zip(phenomena.x, phenomena.y, strict=True))["negation pattern"] == 2
    assert "unknown" in list(findings.x)
    assert figure.layout.yaxis.title.text == "pairs (count)"


def test_top_features_show_mean_abs_delta_and_correlations_with_cis() -> None:
    figure = top_features_figure(features_frame(), k=2)
    bars, pearson, spearman = figure.data
    assert list(bars.x) == ["f7", "f3"] and list(bars.y) == [2.5, 1.5]
    assert pearson.name == "Pearson r" and list(pearson.y) == pytest.approx([0.71, -0.2])
    assert _error_bars(pearson)[0] == pytest.approx([0.14, 0.5])
    assert spearman.error_y.array is not None
    assert figure.layout.yaxis2.range == (-1.05, 1.05)


def test_delta_scatter_uses_the_top_feature_and_separates_flips() -> None:
    figure = feature_delta_scatter_figure(feature_pairs_frame(), features_frame())
    flips, controls, line = figure.data
    assert list(flips.x) == [3.0, 2.0] and list(controls.y) == [0.1, -0.2]
    assert line.mode == "lines"
    assert figure.layout.yaxis.title.text == "Δmargin (logits)"
    assert "Feature 7" in figure.layout.title.text and "[0.50, 0.85]" in figure.layout.title.text
    with pytest.raises(FigureInputError, match="feature 9"):
        feature_delta_scatter_figure(feature_pairs_frame(), features_frame(), feature=9)


def test_image_maps_draw_one_grid_per_feature_and_picture_with_a_scale_per_feature() -> None:
    maps = image_maps_frame()
    figure = feature_image_maps_figure(maps)
    assert len(figure.data) == 4
    first = figure.data[0]
    assert first.z.tolist() == [[0.0, 1.0], [2.0, 0.5]] and (first.zmin, first.zmax) == (0.0, 2.0)
    assert figure.data[2].zmax == 20.0 and [trace.showscale for trace in figure.data] == [True, False] * 2
    assert figure.layout.annotations[0].text == "f7 · q1 (edema)"
    with pytest.raises(FigureInputError):
        feature_image_maps_figure(maps.drop(columns="activation"))


def test_patching_by_arm_shows_recovery_shift_and_abs_delta_margin_with_the_control_apart() -> None:
    figure = patching_by_arm_figure(patching_summary_frame())
    recovery, aggregate, shift, moved = figure.data
    flip_arms = ["feature on flips", "random feature on flips"]
    assert list(recovery.x) == flip_arms and list(aggregate.x) == flip_arms and list(shift.x) == flip_arms
    assert recovery.y[0] == pytest.approx(44.8)
    assert _error_bars(recovery)[0][0] == pytest.approx(5.0)
    assert recovery.text[0] == "2 / 8 reversed"  # out of the margin-sign flips
    assert aggregate.y[0] == pytest.approx(22.4) and _error_bars(aggregate)[0][0] == pytest.approx(2.0)
    assert list(moved.x) == ["feature on flips", NON_FLIP_ARM, "random feature on flips"]
    assert moved.y[1] == pytest.approx(0.03)
    assert _error_bars(moved)[0][1] == pytest.approx(0.01) and _error_bars(moved)[1][1] == pytest.approx(0.01)
    assert figure.layout.yaxis.title.text == "recovery (%)"
    assert "logits" in figure.layout.yaxis2.title.text
    assert figure.layout.yaxis3.title.text == "mean |Δmargin| (logits)"
    assert shift.error_y.array is not None


def test_patching_by_group_has_one_panel_per_grouping_and_one_legend_entry_per_flip_arm() -> None:
    figure = patching_by_group_figure(patching_summary_frame())
    assert len(figure.data) == 4  # 2 groupings × 2 arms on FlipBank pairs; the control has no recovery
    assert NON_FLIP_ARM not in {trace.name for trace in figure.data}
    assert sum(bool(trace.showlegend) for trace in figure.data) == 2
    assert figure.layout.xaxis.title.text == "phenomenon" and figure.layout.xaxis2.title.text == "direction"
    assert all(trace.error_y.array is not None for trace in figure.data)


def test_layer_sweep_draws_recovery_by_layer_per_patch_kind() -> None:
    figure = layer_sweep_figure(layer_sweep_frame())
    resid, feature = figure.data
    assert list(resid.x) == [0, 1, 2, 3] and resid.y[3] == pytest.approx(100.0)
    assert feature.mode == "markers" and list(feature.x) == [2]
    assert figure.layout.xaxis.title.text == "layer index"
    assert figure.layout.yaxis.title.text == "mean recovery (%)"


def test_clamping_groups_metrics_by_configuration_with_the_paired_test_in_the_legend() -> None:
    figure = clamping_figure(clamping_frame())
    assert [trace.name.split(" (")[0] for trace in figure.data] == list(CONFIGURATIONS)
    assert figure.data[0].name == "baseline"
    assert "Δflip -2.0 pts, p = 0.04" in figure.data[1].name
    assert list(figure.data[0].x) == ["flip rate", "accuracy", "text-only agreement", "swap sensitivity"]
    assert figure.layout.barmode == "group" and figure.data[0].error_y.array is not None


def test_latency_bars_carry_their_ratio() -> None:
    latency = pd.DataFrame(
        {"method": ["plain", "clamp"], "median_ms": [624.0, 636.0], "ratio_to_plain": [1.0, 1.019]}
    )
    figure = latency_figure(latency)
    assert list(figure.data[0].text) == ["×1.00", "×1.02"]
    assert figure.layout.yaxis.title.text == "median latency (ms)"


def test_latency_bars_are_grouped_by_batch_size() -> None:
    latency = pd.DataFrame(
        {
            "batch_size": [16, 16, 1, 1],
            "method": ["plain", "clamp", "plain", "clamp"],
            "median_ms": [1400.0, 1420.0, 138.0, 140.0],
            "ratio_to_plain": [1.0, 1.014, 1.0, 1.015],
        }
    )
    figure = latency_figure(latency)
    assert [trace.name for trace in figure.data] == ["batch 1", "batch 16"]
    assert list(figure.data[1].y) == [1400.0, 1420.0] and list(figure.data[0].text) == ["×1.00", "×1.01"]
    assert figure.layout.barmode == "group"


def test_every_figure_shares_the_template(tmp_path: Path) -> None:
    built = build_figures(load_run(write_run_folder(tmp_path / "run")))
    assert set(built.figures) == {spec.name for spec in FIGURES} - {"latency", "reliability"}
    for figure in built.figures.values():
        assert figure.layout.template.layout.font.family == FONT_FAMILY
        assert figure.layout.title.text


def test_write_figures_writes_offline_html_for_present_inputs_and_records_the_missing(tmp_path: Path) -> None:
    run = write_run_folder(tmp_path / "run")
    written = write_figures(run, tmp_path / "figures", png=False)
    names = {path.stem for path in written}
    assert names == {spec.name for spec in FIGURES} - {"latency", "reliability"}
    page = (tmp_path / "figures" / "flip_rate_by_phenomenon.html").read_text()
    assert "<script src=" not in page and len(page) > 1_000_000  # plotly.js inline: opens offline
    manifest = json.loads((tmp_path / "figures" / MANIFEST).read_text())
    assert "latency.parquet" in manifest["skipped"]["latency"]
    assert manifest["png"] == "PNG skipped: not requested"


def test_a_text_only_run_skips_the_image_figures(tmp_path: Path) -> None:
    run = write_run_folder(tmp_path / "run", with_images=False)
    built = build_figures(load_run(run))
    assert "text-only" in built.skipped["grounding"]
    assert "quadrant" in built.skipped["quadrants"]
    assert "configurations" in built.skipped["flip_vs_dangerous"]
    assert "clamping" in built.figures


def test_png_export_is_written_or_skipped_with_a_reason(tmp_path: Path) -> None:
    run = write_run_folder(tmp_path / "run", steps=("flip_study",))
    latency = pd.DataFrame({"method": ["plain"], "median_ms": [1.0], "ratio_to_plain": [1.0]})
    latency.to_parquet(run / "latency.parquet")
    out = tmp_path / "figures"
    written = write_figures(run, out, png=True)
    manifest = json.loads((out / MANIFEST).read_text())
    pngs = sorted(out.glob("*.png"))
    if manifest["png"] == "PNG written":
        assert pngs and all(path in written for path in pngs)
    else:
        assert manifest["png"].startswith("PNG skipped: ") and not pngs
    assert "features/features.parquet" in manifest["skipped"]["top_features"]


def test_the_command_line_regenerates_figures_with_a_shared_plotly_js(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_run_folder(tmp_path / "run", steps=("flip_study",))
    out = tmp_path / "out"
    assert main([str(run), "--out", str(out), "--no-png", "--shared-plotlyjs"]) == 0
    assert (out / "plotly.min.js").is_file()
    assert (out / "grounding.html").stat().st_size < 100_000
    printed = capsys.readouterr().out
    assert "wrote" in printed and "skipped clamping" in printed
