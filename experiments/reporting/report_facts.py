"""The facts a run report states beside its tables: provenance and step timings, the key numbers next to the
PSF-Med paper's, and which metrics are not applicable or were not run, with the reason."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from experiments.reporting.figure_causal import flip_arm_rows
from experiments.reporting.figure_inputs import DERIVED_FRAMES, RESULT_FILES, RunInputs
from experiments.reporting.figure_style import label
from experiments.reporting.figure_tables import ci_text
from flipbank.quadrants import ConfigurationResult, flip_dangerous_correlation

#: The paper's headline numbers on MedGemma-4B (MIMIC).
PAPER = {
    "flip rate": "15.6%",
    "accuracy (originals)": "78.2%",
    "text-only agreement (blank image)": "66.4%",
    "swap sensitivity": "30.8%",
    "FlipBank size": "158 (94 Yes→No, 64 No→Yes)",
    "top feature": "f3818 at layer 17: r = 0.71",
    "patching mean recovery": "44.8% [40.1, 49.5]",
    "patching full reversals": "23 / 158",
    "patching mean shift": "+1.31 logits",
    "non-flip control mean |Δmargin|": "0.03 logits",
    "clamp: flip rate": "15.6% → 10.8%",
    "clamp: accuracy": "78.2% → 76.9%",
    "clamp: text-only agreement": "66.4% → 63.1%",
    "latency (ratio to plain forward)": "clamp ×1.019 (624 → 636 ms, A100, batch 1)",
}
#: Image metrics of the robustness table: (metric, group, the image conditions it needs besides "real").
IMAGE_METRICS = (
    ("text_only_agreement", "blank", "blank"),
    ("text_only_agreement", "none", "none"),
    ("blank_image_flip_rate", "all", "blank"),
    ("swap_sensitivity", "all", "swapped"),
    ("quadrant_fraction", None, "blank"),
)
STEP_FILES = (
    ("Robustness metrics", "robustness"),
    ("FlipBank", "flipbank"),
    ("Feature discovery", "features"),
    ("Delta-only patching", "patching_summary"),
    ("Layer sweep", "layer_sweep"),
    ("Clamping", "clamping"),
)


def _rate(frame: pd.DataFrame, metric: str, group: str | None = None) -> str | None:
    rows = frame[frame["metric"] == metric]
    if group is not None:
        rows = rows[rows["group"] == group]
    if rows.empty:
        return None
    row = rows.iloc[0]
    return ci_text(row["value"], row["ci_low"], row["ci_high"])


def image_reason(inputs: RunInputs, needed: str) -> str:
    """Why an image metric needing ``needed`` (besides the real image) is absent."""
    conditions = inputs.image_conditions
    if conditions is None:
        return (
            "not computed (the run folder has no study_config.json saying which image conditions were mined)"
        )
    mined = ", ".join(conditions)
    if "real" not in conditions:
        return f"not applicable: a text-only study (image conditions mined: {mined}); no image was shown"
    if needed not in conditions:
        return f"not applicable: needs the {needed!r} image condition, which was not mined (mined: {mined})"
    return "not computed: its conditions were mined but the metric is missing from the table"


Row = tuple[str, str | None]


def _robustness_rows(inputs: RunInputs) -> list[Row]:
    frame = inputs.frames.get("robustness")
    if frame is None:
        return []
    return [
        ("flip rate", _rate(frame, "flip_rate")),
        ("pairwise flip rate", _rate(frame, "pairwise_flip_rate")),
        ("accuracy (originals)", _rate(frame, "accuracy", "originals")),
        (
            "text-only agreement (blank image)",
            _rate(frame, "text_only_agreement", "blank") or image_reason(inputs, "blank"),
        ),
        ("swap sensitivity", _rate(frame, "swap_sensitivity") or image_reason(inputs, "swapped")),
    ]


def _flipbank_rows(inputs: RunInputs) -> list[Row]:
    bank = inputs.frames.get("flipbank")
    if bank is None:
        return []
    counts = bank["direction"].value_counts()
    return [
        (
            "FlipBank size",
            f"{len(bank)} ({counts.get('yes_to_no', 0)} Yes→No, {counts.get('no_to_yes', 0)} No→Yes)",
        )
    ]


def _sae_layer(inputs: RunInputs) -> str:
    sweep = inputs.frames.get("layer_sweep")
    if sweep is None or "patch" not in sweep.columns:
        return ""
    layers = sweep.loc[sweep["patch"] == "SAE feature component", "layer"]
    return f" at layer {int(layers.iloc[0])}" if len(layers) == 1 else ""


def _feature_rows(inputs: RunInputs) -> list[Row]:
    features = inputs.frames.get("features")
    if features is None or features.empty:
        return []
    top = features.sort_values("rank").iloc[0]
    r = ci_text(top["pearson_r"], top.get("pearson_ci_low"), top.get("pearson_ci_high"), 1.0, "")
    return [("top feature", f"f{int(top['feature'])}{_sae_layer(inputs)}: r = {r}")]


def _cis(row: pd.Series, value: str) -> tuple[Any, Any, Any]:
    return row.get(value), row.get(f"{value}_low"), row.get(f"{value}_high")


def _flip_arm_rows(flips: pd.Series) -> list[Row]:
    """Feature on flips: recovery (mean, aggregate), reversals of sign flips, small gaps, mean shift."""
    n, floor = flips["n"], flips.get("gap_floor", math.nan)
    return [
        ("patching mean recovery", ci_text(*_cis(flips, "mean_recovery"))),
        ("patching aggregate recovery (Σ shift / Σ |gap|)", ci_text(*_cis(flips, "aggregate_recovery"))),
        (
            "patching full reversals",
            f"{flips['full_reversals']} / {flips.get('n_sign_flips')} sign flips; {n} pairs, "
            f"{flips.get('n_parsed_not_sign_flips')} flip the parsed answer but not the margin's sign",
        ),
        (
            f"patching pairs with |gap| < {floor:g} logits",
            f"{flips.get('n_below_gap_floor')} / {n} (kept; their per-pair recovery is unstable)",
        ),
        ("patching mean shift", ci_text(*_cis(flips, "mean_shift"), 1.0, " logits")),
    ]


def _patching_rows(inputs: RunInputs) -> list[Row]:
    summary = inputs.frames.get("patching_summary")
    if summary is None:
        return []
    overall = summary[summary["group_by"] == "all"]
    arms, flip_arms = overall.set_index("arm"), set(overall.loc[flip_arm_rows(overall), "arm"])
    rows: list[Row] = []
    if "feature on flips" in flip_arms:
        rows += _flip_arm_rows(arms.loc["feature on flips"])
    if "feature on non-flips" in arms.index:
        control = _cis(arms.loc["feature on non-flips"], "mean_abs_delta_margin")
        moved = ci_text(*control, 1.0, " logits", signed=False)
        rows.append(("non-flip control mean |Δmargin|", f"{moved} (recovery and reversals do not apply)"))
    if "random feature on flips" in flip_arms:
        random = arms.loc["random feature on flips"]
        rows.append(("random-feature control mean recovery", ci_text(random["mean_recovery"])))
        rows.append(("random-feature control aggregate recovery", ci_text(random.get("aggregate_recovery"))))
    return rows


def _clamp_rows(inputs: RunInputs) -> list[Row]:
    clamping = inputs.frames.get("clamping")
    if clamping is None:
        return []
    names = list(dict.fromkeys(clamping["configuration"]))
    clamp = next((name for name in names if name.startswith("clamp ") and "+" not in name), None)
    if clamp is None or "baseline" not in names:
        return []
    rows: list[Row] = []
    for metric, group in (("flip_rate", None), ("accuracy", None), ("text_only_agreement", "blank")):
        before = _rate(clamping[clamping["configuration"] == "baseline"], metric, group)
        after = _rate(clamping[clamping["configuration"] == clamp], metric, group)
        value = f"{before} → {after} ({clamp})" if before and after else image_reason(inputs, "blank")
        rows.append((f"clamp: {label(metric)}", value))
    return rows


def _extra_rows(inputs: RunInputs) -> list[Row]:
    rows: list[Row] = []
    configurations = inputs.frames.get("configurations")
    if configurations is not None:
        results = [
            ConfigurationResult(str(r.configuration), float(r.flip_rate), float(r.dangerous_fraction))
            for r in configurations.itertuples(index=False)
            if math.isfinite(r.flip_rate) and math.isfinite(r.dangerous_fraction)
        ]
        correlation = flip_dangerous_correlation(results, seed=inputs.seed)
        value = ci_text(correlation.r, correlation.ci.low, correlation.ci.high, 1.0, "")
        rows.append(
            ("flip rate vs Dangerous fraction (Pearson r)", f"{value} over {correlation.n} configurations")
        )
    latency = inputs.frames.get("latency")
    if latency is not None and "ratio_to_plain" in latency.columns:
        rows.append(("latency (ratio to plain forward)", _latency_text(latency)))
    return rows


def _ratios(latency: pd.DataFrame) -> str:
    return "; ".join(f"{r.method} ×{r.ratio_to_plain:.3f}" for r in latency.itertuples(index=False))


def _latency_text(latency: pd.DataFrame) -> str:
    """Each method's ratio, grouped by batch size when the table has one."""
    if "batch_size" not in latency.columns:
        return _ratios(latency)
    groups = latency.groupby("batch_size", sort=True)
    return " | ".join(f"batch {batch_size}: {_ratios(group)}" for batch_size, group in groups)


def key_numbers(inputs: RunInputs) -> pd.DataFrame:
    """The headline quantities of this run beside the paper's MedGemma-4B values ("—": not in the paper)."""
    rows: list[Row] = []
    collectors = (_robustness_rows, _flipbank_rows, _feature_rows, _patching_rows, _clamp_rows, _extra_rows)
    for collect in collectors:
        rows += collect(inputs)
    return pd.DataFrame(
        [(name, value or "n/a", PAPER.get(name, "—")) for name, value in rows],
        columns=["quantity", "this run", "PSF-Med paper (MedGemma-4B)"],
    )


def not_applicable(inputs: RunInputs) -> list[tuple[str, str]]:
    """Every metric or table this run does not report, with the reason: not applicable to the model or
    configuration, undefined (no units), or its step not run."""
    notes = [
        (name, f"not run: {RESULT_FILES[frame]} missing")
        for name, frame in STEP_FILES
        if not inputs.has(frame)
    ]
    if inputs.has("features") and inputs.transfer is None:
        notes.append(("SAE transfer check", "not run: features/transfer.json missing"))
    robustness = inputs.frames.get("robustness")
    if robustness is not None:
        for metric, group, needed in IMAGE_METRICS:
            rows = robustness[robustness["metric"] == metric]
            if group is not None:
                rows = rows[rows["group"] == group]
            if rows.empty:
                notes.append(
                    (
                        f"{label(metric)}{f' ({group})' if group and group != 'all' else ''}",
                        image_reason(inputs, needed),
                    )
                )
        for row in robustness[robustness["value"].isna()].itertuples(index=False):
            notes.append((f"{label(row.metric)} ({row.group})", "not defined: no evaluable units (n = 0)"))
    if inputs.has("clamping") and not inputs.has("configurations"):
        notes.append(("flip rate vs Dangerous fraction", f"not drawn: {DERIVED_FRAMES['configurations']}"))
    if not inputs.has("latency"):
        notes.append(("Latency", "not measured in this run (latency.parquet missing)"))
    return notes


def provenance_view(inputs: RunInputs) -> pd.DataFrame:
    """Model, revision, device, dtype, template, seed, git commit, Python, packages, config hash, time."""
    provenance = inputs.provenance or {}
    settings = provenance.get("settings") or {}
    commit = provenance.get("git_commit")
    if commit and provenance.get("git_dirty"):
        commit = f"{commit} (with uncommitted changes)"
    packages = ", ".join(f"{name} {version}" for name, version in (provenance.get("packages") or {}).items())
    fields = [
        ("model", provenance.get("model_spec") or ((inputs.config or {}).get("model") or {}).get("spec")),
        ("model revision", provenance.get("model_revision")),
        ("device", provenance.get("device")),
        ("dtype", provenance.get("dtype")),
        ("prompt template", provenance.get("prompt_template")),
        ("seed", provenance.get("seed", (inputs.config or {}).get("seed"))),
        ("git commit", commit),
        ("python", provenance.get("python")),
        ("packages", packages or None),
        ("config hash", settings.get("config_hash") or inputs.folder.name.rsplit("-", 1)[-1]),
        ("created at", provenance.get("created_at")),
    ]
    fields += [(f"setting: {k}", v) for k, v in settings.items() if k != "config_hash"]
    if not provenance:
        fields.append(("provenance", "provenance.json missing: the study loaded no model in this run folder"))
    return pd.DataFrame(
        [(name, "—" if value is None else str(value)) for name, value in fields], columns=["field", "value"]
    )


def steps_view(inputs: RunInputs) -> pd.DataFrame:
    """Each finished step with its duration (s) and finish time, and the total."""
    rows = [
        (name, f"{float(marker.get('seconds', math.nan)):.1f}", marker.get("finished_at", "—"))
        for name, marker in inputs.steps.items()
    ]
    rows.sort(key=lambda row: str(row[2]))
    total = sum(float(marker.get("seconds", 0.0)) for marker in inputs.steps.values())
    rows.append(("total", f"{total:.1f}", ""))
    return pd.DataFrame(rows, columns=["step", "seconds", "finished at"])
