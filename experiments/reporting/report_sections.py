"""The report's sections, in pipeline order: each a title, its tables (caption, the frame it needs, how
the frame is shown) and its figures by registry name. `experiments.reporting.report` renders them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from experiments.reporting import figure_tables as tables
from experiments.reporting import reliance_tables as reliance
from experiments.reporting.figure_inputs import RunInputs


@dataclass(frozen=True)
class Section:
    """A titled block of the report: tables (caption → frame builder) and figures by registry name."""

    title: str
    tables: tuple[tuple[str, str, Callable[[RunInputs], pd.DataFrame]], ...]
    figures: tuple[str, ...]


SECTIONS: tuple[Section, ...] = (
    Section(
        "Robustness (PSF-Med Tables 2–3, 20)",
        (
            ("Robustness metrics", "robustness", lambda r: tables.robustness_view(r.frame("robustness"))),
            (
                "Four quadrants: share, accuracy and yes/no entropy",
                "robustness",
                lambda r: tables.quadrant_view(r.frame("robustness")),
            ),
            (
                "Answer label sources",
                "robustness",
                lambda r: tables.label_source_view(r.frame("robustness")),
            ),
        ),
        ("flip_rate_by_phenomenon", "flip_rate_by_paraphrase_count", "grounding", "quadrants"),
    ),
    Section(
        "FlipBank (PSF-Med Table 16)",
        (("FlipBank composition", "flipbank", lambda r: tables.flipbank_view(r.frame("flipbank"))),),
        ("flipbank_composition",),
    ),
    Section(
        "Feature discovery (PSF-Med Fig. 5, Tables 5–6)",
        (
            ("SAE transfer check", "transfer", lambda r: tables.mapping_view(r.transfer or {})),
            ("Top features", "features", lambda r: tables.features_view(r.frame("features"))),
        ),
        ("top_features", "feature_delta_scatter", "feature_image_maps"),
    ),
    Section(
        "Attribution patching (AtP over every feature, checked by real patches)",
        (
            (
                "Estimated vs real margin change of the top candidates",
                "attribution",
                lambda r: r.frame("attribution").round(4),
            ),
        ),
        (),
    ),
    Section(
        "Delta-only patching (PSF-Med Tables 7, 18)",
        (
            (
                "Patching summary",
                "patching_summary",
                lambda r: tables.patching_view(r.frame("patching_summary")),
            ),
        ),
        ("patching_by_arm", "patching_by_group"),
    ),
    Section(
        "Layer sweep (PSF-Med Table 19)",
        (("Recovery by layer", "layer_sweep", lambda r: tables.layer_sweep_view(r.frame("layer_sweep"))),),
        ("layer_sweep",),
    ),
    Section(
        "Clamping and normalisation (PSF-Med Tables 8, 26, 28)",
        (
            ("Clamping table", "clamping", lambda r: tables.clamping_view(r.frame("clamping"))),
            (
                "Flip rate and Dangerous fraction per configuration",
                "configurations",
                lambda r: tables.configurations_view(r.frame("configurations")),
            ),
        ),
        ("clamping", "flip_vs_dangerous"),
    ),
    Section(
        "Where the model looks (PSF-Med Table 4)",
        (
            (
                "Attention to the finding's box",
                "grounding",
                lambda r: reliance.grounding_view(r.frame("grounding")),
            ),
        ),
        (),
    ),
    Section(
        "Uncertainty: does it warn of a flip or a wrong answer?",
        (
            (
                "AUROC of each estimate on the original question (the paraphrase spread sees the paraphrases:"
                " a diagnostic, not a warning); calibration of the maximum probability",
                "uncertainty",
                lambda r: reliance.uncertainty_view(r.frame("uncertainty")),
            ),
            (
                "Uncertainty by quadrant: are Dangerous questions confident? (mean of each estimate on the "
                "original; larger = more uncertain)",
                "uncertainty_by_quadrant",
                lambda r: reliance.quadrant_uncertainty_view(r.frame("uncertainty_by_quadrant")),
            ),
        ),
        ("reliability",),
    ),
    Section(
        'NOTA: the right option hidden behind "None of the above"',
        (
            (
                "Accuracy clean and under NOTA, NOTA chosen, confidence (max option probability) before and"
                " after, collapses (right clean, wrong under NOTA) and their anticipation by clean-item "
                "uncertainty (AUROC)",
                "nota",
                lambda r: reliance.nota_view(r.frame("nota")),
            ),
        ),
        ("nota",),
    ),
    Section(
        "MediConfusion: one question, two images that need different answers",
        (
            (
                "MediConfusion metrics per answering mode (greedy: A/B softmax; mc: parsed 32-token answer;"
                " prefix: option text likelihood) beside random",
                "mediconfusion",
                lambda r: r.frame("mediconfusion").round(4),
            ),
            (
                "Features that move most between a pair's two images (final token)",
                "mediconfusion_delta_f",
                lambda r: r.frame("mediconfusion_delta_f").head(10).round(4),
            ),
            (
                "Image-to-image delta-only patch: image 1's prompt with the top image-side features set to "
                "image 2's, share of the A − B margin gap closed",
                "mediconfusion_patching",
                lambda r: reliance.confusion_patching_view(r.frame("mediconfusion_patching")),
            ),
        ),
        (),
    ),
    Section(
        "Configuration comparison (Consistent but Dangerous; targeted LoRA)",
        # the flip-vs-Dangerous table and figure (clamping section) show the compared points when it ran
        (("Configurations", "comparison", lambda r: reliance.comparison_view(r.frame("comparison"))),),
        (),
    ),
    Section(
        "Latency",
        (("Latency per method", "latency", lambda r: tables.latency_view(r.frame("latency"))),),
        ("latency",),
    ),
)
