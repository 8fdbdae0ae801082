"""Every paper figure of a study run, regenerated from its result files without a model: the registry of
figures, building those whose inputs exist, and writing them as standalone offline HTML (and PNG when kaleido
finds a browser). ``python -m experiments.reporting.figures RUN_FOLDER [--out FOLDER]``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import plotly.graph_objects as go

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
from experiments.reporting.figure_inputs import MissingInputError, RunInputs, load_run
from experiments.reporting.figure_robustness import (
    flip_rate_by_paraphrase_count_figure,
    flip_rate_by_phenomenon_figure,
    flip_vs_dangerous_figure,
    grounding_figure,
    quadrant_figure,
)
from experiments.reporting.figure_style import FigureInputError
from experiments.reporting.figure_uncertainty import nota_figure, reliability_figure

MANIFEST = "figures.json"


@dataclass(frozen=True)
class FigureSpec:
    """One figure: its file stem, what it shows, and how it is built from a run's inputs."""

    name: str
    caption: str
    build: Callable[[RunInputs], go.Figure]


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "flip_rate_by_phenomenon",
        "Flip rate per paraphrase phenomenon (PSF-Med Tables 2–3)",
        lambda run: flip_rate_by_phenomenon_figure(run.frame("robustness")),
    ),
    FigureSpec(
        "flip_rate_by_paraphrase_count",
        "Flip rate by paraphrases per question (PSF-Med Table 20)",
        lambda run: flip_rate_by_paraphrase_count_figure(run.frame("robustness")),
    ),
    FigureSpec(
        "grounding",
        "Text-only agreement, blank-image flip rate, swap sensitivity",
        lambda run: grounding_figure(run.frame("robustness")),
    ),
    FigureSpec(
        "quadrants",
        "Four-quadrant fractions, accuracy and yes/no entropy (companion paper)",
        lambda run: quadrant_figure(run.frame("robustness")),
    ),
    FigureSpec(
        "flip_vs_dangerous",
        "Flip rate vs Dangerous fraction across configurations (companion paper)",
        lambda run: flip_vs_dangerous_figure(run.frame("configurations")),
    ),
    FigureSpec(
        "flipbank_composition",
        "FlipBank composition (PSF-Med Table 16)",
        lambda run: flipbank_composition_figure(run.frame("flipbank")),
    ),
    FigureSpec(
        "top_features",
        "Top features by mean |Δf| (PSF-Med Fig. 5)",
        lambda run: top_features_figure(run.frame("features")),
    ),
    FigureSpec(
        "feature_delta_scatter",
        "Top feature's Δf vs Δmargin (PSF-Med Fig. 5)",
        lambda run: feature_delta_scatter_figure(run.frame("feature_pairs"), run.frame("features")),
    ),
    FigureSpec(
        "feature_image_maps",
        "Top features on the image tokens of FlipBank pictures",
        lambda run: feature_image_maps_figure(run.frame("feature_image_maps")),
    ),
    FigureSpec(
        "patching_by_arm",
        "Patching recovery and shift by arm, |Δmargin| on non-flip pairs (PSF-Med Table 7)",
        lambda run: patching_by_arm_figure(run.frame("patching_summary")),
    ),
    FigureSpec(
        "patching_by_group",
        "Patching recovery by finding, phenomenon and direction (PSF-Med Table 18)",
        lambda run: patching_by_group_figure(run.frame("patching_summary")),
    ),
    FigureSpec(
        "layer_sweep",
        "Recovery by patched layer (PSF-Med Table 19)",
        lambda run: layer_sweep_figure(run.frame("layer_sweep")),
    ),
    FigureSpec(
        "clamping",
        "Clamping and normalisation (PSF-Med Tables 8, 26, 28)",
        lambda run: clamping_figure(run.frame("clamping")),
    ),
    FigureSpec("latency", "Latency of each intervention", lambda run: latency_figure(run.frame("latency"))),
    FigureSpec(
        "reliability",
        "Reliability diagram of the maximum yes/no probability",
        lambda run: reliability_figure(run.frame("reliability")),
    ),
    FigureSpec("nota", "NOTA: accuracy before and after", lambda run: nota_figure(run.frame("nota"))),
)


@dataclass
class BuiltFigures:
    """The figures that could be built, and why each other one was skipped."""

    figures: dict[str, go.Figure] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def build_figures(inputs: RunInputs, specs: Sequence[FigureSpec] = FIGURES) -> BuiltFigures:
    """Build every figure of ``specs`` whose inputs exist; a missing file or an inapplicable metric is
    recorded in ``skipped`` with its reason."""
    built = BuiltFigures()
    for spec in specs:
        try:
            built.figures[spec.name] = spec.build(inputs)
        except (MissingInputError, FigureInputError) as error:
            built.skipped[spec.name] = str(error)
    return built


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else 'no message'}"


def write_png(figure: go.Figure, path: Path) -> str | None:
    """Write ``figure`` as a PNG through kaleido; returns None on success, else why it could not."""
    try:
        figure.write_image(path, format="png", width=1100, height=650, scale=2)
    except Exception as error:  # kaleido missing, no Chrome/Chromium, or a browser that fails to start
        path.unlink(missing_ok=True)
        return _first_line(error)
    return None


def _manifest(
    run_folder: Path, written: list[Path], built: BuiltFigures, png_status: str
) -> dict[str, object]:
    return {
        "run_folder": str(run_folder),
        "files": [path.name for path in written],
        "png": png_status,
        "skipped": built.skipped,
    }


def write_figures(
    run_folder: str | Path, figures_folder: str | Path, png: bool = True, inline_plotlyjs: bool = True
) -> list[Path]:
    """Write every figure whose inputs exist in ``run_folder`` to ``figures_folder``: standalone HTML (with
    plotly.js inline, so it opens offline; ``inline_plotlyjs=False`` writes one shared plotly.min.js beside
    them instead), and PNG when kaleido finds a browser. The skipped figures and the PNG status go to
    ``figures.json`` in the same folder. Returns the figure files written."""
    source, target = Path(run_folder), Path(figures_folder)
    target.mkdir(parents=True, exist_ok=True)
    built = build_figures(load_run(source))
    written: list[Path] = []
    png_status = "PNG skipped: not requested" if not png else "PNG written"
    for name, figure in built.figures.items():
        html = target / f"{name}.html"
        figure.write_html(html, include_plotlyjs=True if inline_plotlyjs else "directory", full_html=True)
        written.append(html)
        if png and png_status == "PNG written":
            failure = write_png(figure, target / f"{name}.png")
            if failure is None:
                written.append(target / f"{name}.png")
            else:
                png_status = f"PNG skipped: {failure}"
    manifest = _manifest(source, written, built, png_status)
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the figures of one run folder from its results (no model is loaded)."""
    parser = argparse.ArgumentParser(prog="python -m experiments.reporting.figures", description=main.__doc__)
    parser.add_argument("run_folder", type=Path, help="a study run folder (runs/<preset>-<hash>)")
    parser.add_argument(
        "--out", type=Path, default=Path("figures"), help="where figures go (default: figures/)"
    )
    parser.add_argument("--no-png", action="store_true", help="write HTML only")
    parser.add_argument(
        "--shared-plotlyjs", action="store_true", help="one plotly.min.js beside the HTML files"
    )
    arguments = parser.parse_args(argv)
    out = arguments.out
    written = write_figures(arguments.run_folder, out, not arguments.no_png, not arguments.shared_plotlyjs)
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    for path in written:
        print(f"wrote {path}")
    for name, reason in manifest["skipped"].items():
        print(f"skipped {name}: {reason}")
    print(manifest["png"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
