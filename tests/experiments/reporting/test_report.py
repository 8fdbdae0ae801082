"""The run report on hand-made run folders: provenance, every table, the figures with one inline plotly.js,
the Markdown summary, and plain statements of what is not applicable or not run."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from experiments.reporting import figure_tables as tables
from experiments.reporting.figure_inputs import load_run
from experiments.reporting.figure_tables import ci_text
from experiments.reporting.figures import FIGURES
from experiments.reporting.report import main, write_report
from experiments.reporting.report_facts import key_numbers, not_applicable
from experiments.steps.patching_study import format_patching_summary
from tests.experiments.reporting.test_figures import COMMIT, patching_summary_frame, write_run_folder

TABLE_HEADINGS = (
    "Step timings",
    "Key numbers",
    "Robustness metrics",
    "Four quadrants: share, accuracy and yes/no entropy",
    "Answer label sources",
    "FlipBank composition",
    "SAE transfer check",
    "Top features",
    "Patching summary",
    "Recovery by layer",
    "Clamping table",
    "Flip rate and Dangerous fraction per configuration",
    "Accuracy clean and under NOTA",
)


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run = write_run_folder(tmp_path_factory.mktemp("report") / "run")
    page = write_report(run)
    return run, page.read_text(encoding="utf-8")


def test_the_report_states_provenance_and_step_timings(full_report: tuple[Path, str]) -> None:
    run, page = full_report
    assert (run / "report.html").is_file()
    assert COMMIT in page
    assert "abc123def456" in page  # config hash
    assert "torch 2.13.0+cpu" in page and "float32" in page and "chat:6-shot" in page
    assert "<td>flip_study</td>" in page and "12.5" in page


def test_the_report_holds_every_table_with_cis(full_report: tuple[Path, str]) -> None:
    _, page = full_report
    for heading in TABLE_HEADINGS:
        assert heading in page, heading
    assert page.count("<table") == len(TABLE_HEADINGS) + 1  # + provenance
    assert "15.6% [5.6, 25.6]" in page  # the flip rate with its CI
    assert "44.8% [39.8, 49.8]" in page  # patching mean recovery
    assert "+0.587 logits [0.538, 0.627]" in page  # patching mean shift
    assert "-2.0 pts" in page  # paired flip-rate difference of a clamping configuration


def test_the_quadrant_table_puts_entropy_in_bits_next_to_the_fractions(full_report: tuple[Path, str]) -> None:
    _, page = full_report
    row = re.search(r"<tr>\s*<td>Dangerous</td>(.*?)</tr>", page, re.S)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert cells[:3] == ["40.0% [30.0, 50.0]", "n/a", "0.800 bits [0.700, 0.900]"]
    assert cells[-1] == "blank"  # the condition image reliance was judged against
    assert "80.0% [70.0, 90.0]" not in page  # the entropy is never printed as a percentage


def test_the_label_sources_are_shown_with_their_counts(full_report: tuple[Path, str]) -> None:
    _, page = full_report
    row = re.search(r"<tr>\s*<td>leading word</td>(.*?)</tr>", page, re.S)
    assert row is not None
    assert re.findall(r"<td>(.*?)</td>", row.group(1))[:3] == ["90.0% [80.0, 100.0]", "90", "2"]


def test_the_patching_table_shows_no_recovery_for_the_non_flip_control() -> None:
    view = tables.patching_view(patching_summary_frame()).set_index(["arm", "grouped by"])
    flips = view.loc[("feature on flips", "all")]
    assert flips["full reversals / sign flips"] == "2 / 8"
    assert flips["aggregate recovery [95% CI]"] == "22.4% [20.4, 24.4]"
    assert flips["small gaps"] == "3 / 10 (< 0.1 logits)"
    assert flips["parsed flips, no sign flip"] == "2"
    control = view.loc[("feature on non-flips", "all")]
    for column in ("mean recovery [95% CI]", "aggregate recovery [95% CI]", "full reversals / sign flips"):
        assert control[column] == "—", column
    assert control["mean |Δmargin| [95% CI]"] == "0.030 logits [0.020, 0.040]"
    printed = format_patching_summary(patching_summary_frame())
    line = next(text for text in printed.splitlines() if text.startswith("feature on non-flips"))
    assert "0.030 [0.020, 0.040]" in line and "%" not in line


def test_the_key_numbers_give_aggregate_recovery_sign_flip_reversals_and_the_control_delta(
    full_report: tuple[Path, str],
) -> None:
    run, _ = full_report
    table = key_numbers(load_run(run)).set_index("quantity")
    assert table.loc["patching aggregate recovery (Σ shift / Σ |gap|)", "this run"] == "22.4% [20.4, 24.4]"
    assert table.loc["patching full reversals", "this run"].startswith("2 / 8 sign flips; 10 pairs, 2 flip")
    assert table.loc["patching pairs with |gap| < 0.1 logits", "this run"].startswith("3 / 10")
    control = table.loc["non-flip control mean |Δmargin|"]
    assert control["this run"].startswith("0.030 logits [0.020, 0.040]")
    assert control["PSF-Med paper (MedGemma-4B)"] == "0.03 logits"
    assert "non-flip control mean shift" not in table.index


def test_the_report_embeds_every_figure_with_plotly_js_once(full_report: tuple[Path, str]) -> None:
    _, page = full_report
    absent = {"latency", "reliability"}  # the hand-made run has no latency table and no mined rows
    for spec in FIGURES:
        assert (f'id="fig-{spec.name}"' in page) == (spec.name not in absent)
    assert len(re.findall(r"plotly\.js v\d", page)) == 1
    assert "<script src=" not in page
    assert "latency.parquet" in page


def test_the_markdown_summary_has_the_key_numbers(full_report: tuple[Path, str]) -> None:
    run, _ = full_report
    summary = (run / "report.md").read_text(encoding="utf-8")
    assert COMMIT in summary
    assert "| flip rate | 15.6% [5.6, 25.6] | 15.6% |" in summary
    assert "| FlipBank size | 4 (3 Yes→No, 1 No→Yes) |" in summary
    assert "flip rate vs Dangerous fraction (Pearson r)" in summary
    assert "**Latency**: not measured" in summary


def test_a_text_only_run_says_the_image_metrics_are_not_applicable(tmp_path: Path) -> None:
    run = write_run_folder(tmp_path / "run", with_images=False)
    write_report(run)
    page = (run / "report.html").read_text(encoding="utf-8")
    summary = (run / "report.md").read_text(encoding="utf-8")
    notes = dict(not_applicable(load_run(run)))
    assert notes["swap sensitivity"].startswith("not applicable: a text-only study")
    assert notes["text-only agreement (blank)"].startswith("not applicable")
    assert "quadrant fraction" in notes
    for text in (page, summary):
        assert "not applicable: a text-only study (image conditions mined: none)" in text
    table = key_numbers(load_run(run)).set_index("quantity")
    assert table.loc["swap sensitivity", "this run"].startswith("not applicable")
    assert "Four quadrants" not in page  # no quadrant table without image conditions


def test_missing_steps_are_reported_as_not_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = write_run_folder(tmp_path / "run", steps=("flip_study",))
    (run / "provenance.json").unlink()
    assert main([str(run)]) == 0
    assert "report.html" in capsys.readouterr().out
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "not run: features/features.parquet missing" in page
    assert "not run: clamping.parquet missing" in page
    assert "Not run in this study" in page
    assert "provenance.json missing" in page
    assert 'id="fig-flip_rate_by_phenomenon"' in page


def test_ci_text_formats_rates_margins_and_missing_values() -> None:
    assert ci_text(0.156, 0.12, 0.191) == "15.6% [12.0, 19.1]"
    assert ci_text(1.31, 1.1, 1.5, 1.0, " logits") == "+1.310 logits [1.100, 1.500]"
    assert ci_text(0.5) == "50.0%"
    assert ci_text(float("nan"), 0.1, 0.2) == "n/a"
    assert ci_text(0.812, 0.7, 0.9, 1.0, " bits") == "0.812 bits [0.700, 0.900]"
    assert ci_text(0.03, 0.02, 0.04, 1.0, " logits", signed=False) == "0.030 logits [0.020, 0.040]"


def test_the_latency_key_number_names_each_batch_size(tmp_path: Path) -> None:
    run = write_run_folder(tmp_path / "run")
    pd.DataFrame(
        {
            "batch_size": [1, 1, 16, 16],
            "method": ["plain forward", "clamp", "plain forward", "clamp"],
            "median_ms": [138.0, 140.0, 1400.0, 1420.0],
            "ratio_to_plain": [1.0, 1.015, 1.0, 1.014],
        }
    ).to_parquet(run / "latency.parquet")
    table = key_numbers(load_run(run)).set_index("quantity")
    assert table.loc["latency (ratio to plain forward)", "this run"] == (
        "batch 1: plain forward ×1.000; clamp ×1.015 | batch 16: plain forward ×1.000; clamp ×1.014"
    )
