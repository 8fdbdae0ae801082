"""One self-contained page per study run: provenance, key numbers beside the paper's, every table with CIs,
every figure (plotly.js inline, so it opens offline), and what was not applicable or not run; plus a
Markdown summary. ``python -m experiments.reporting.report RUN_FOLDER`` writes report.html and report.md
there."""

from __future__ import annotations

import argparse
import html
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from experiments.reporting.figure_inputs import RunInputs, load_run
from experiments.reporting.figures import FIGURES, BuiltFigures, build_figures
from experiments.reporting.report_facts import key_numbers, not_applicable, provenance_view, steps_view
from experiments.reporting.report_sections import SECTIONS, Section

STYLE = """
body{font-family:Helvetica Neue,Arial,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .6em}
th{background:#f0f4f8;text-align:left}td{font-variant-numeric:tabular-nums}
.note{background:#fff8e6;border-left:4px solid #E69F00;padding:.5em 1em}.caption{color:#555}
details pre{background:#f6f6f6;padding:1em;overflow-x:auto}
"""


def _table_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, na_rep="—", escape=True)


def _present(inputs: RunInputs, source: str) -> bool:
    return inputs.transfer is not None if source == "transfer" else inputs.has(source)


class _FigureEmbedder:
    """Embeds figures as HTML fragments; the first one carries plotly.js inline for the whole page."""

    def __init__(self) -> None:
        self.first = True

    def __call__(self, figure_name: str, built: BuiltFigures) -> str:
        if figure_name not in built.figures:
            return ""
        fragment = built.figures[figure_name].to_html(full_html=False, include_plotlyjs=self.first)
        self.first = False
        caption = next(spec.caption for spec in FIGURES if spec.name == figure_name)
        figcaption = f'<figcaption class="caption">{html.escape(caption)}</figcaption>'
        return f'<figure id="fig-{figure_name}">{fragment}{figcaption}</figure>'


def _section_html(section: Section, inputs: RunInputs, built: BuiltFigures, embed: _FigureEmbedder) -> str:
    parts = [f"<h2>{html.escape(section.title)}</h2>"]
    for caption, source, build in section.tables:
        frame = build(inputs) if _present(inputs, source) else None
        if frame is not None and len(frame.columns):  # no columns: not applicable (no quadrants, say)
            parts.append(f"<h3>{html.escape(caption)}</h3>{_table_html(frame)}")
    parts.extend(fragment for name in section.figures if (fragment := embed(name, built)))
    if len(parts) == 1:
        parts.append('<p class="note">Not run in this study: no result files for this section.</p>')
    return "\n".join(parts)


def _list_html(items: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<li><b>{html.escape(name)}</b>: {html.escape(reason)}</li>" for name, reason in items)
    return f'<ul class="note">{rows}</ul>' if items else "<p>Every metric of this study was computed.</p>"


def _title(inputs: RunInputs) -> str:
    name = (inputs.config or {}).get("name", "study")
    return f"PSF study report: {name} ({inputs.folder.name})"


def render_html(inputs: RunInputs, built: BuiltFigures) -> str:
    """The report page: provenance, key numbers, what is not applicable, then one section per experiment."""
    embed = _FigureEmbedder()
    config = json.dumps(inputs.config or {}, indent=2, default=str)
    body = [
        f"<h1>{html.escape(_title(inputs))}</h1>",
        f"<p class='caption'>Generated {datetime.now(UTC).isoformat(timespec='seconds')} "
        f"from {html.escape(str(inputs.folder))}.</p>",
        "<h2>Provenance</h2>",
        _table_html(provenance_view(inputs)),
        "<h3>Step timings</h3>",
        _table_html(steps_view(inputs)),
        "<details><summary>Study configuration (study_config.json)</summary>"
        f"<pre>{html.escape(config)}</pre></details>",
        "<h2>Key numbers</h2>",
        _table_html(key_numbers(inputs)),
        "<h2>Not applicable or not run</h2>",
        _list_html(not_applicable(inputs)),
    ]
    body.extend(_section_html(section, inputs, built, embed) for section in SECTIONS)
    body.append("<h2>Figures not drawn</h2>")
    body.append(_list_html(sorted(built.skipped.items())))
    head = f"<meta charset='utf-8'><title>{html.escape(_title(inputs))}</title><style>{STYLE}</style>"
    return f"<!DOCTYPE html>\n<html><head>{head}</head><body>\n" + "\n".join(body) + "\n</body></html>\n"


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def render_markdown(inputs: RunInputs) -> str:
    """The Markdown summary: provenance, the key numbers beside the paper's, and what was not applicable."""
    sections = [
        f"# {_title(inputs)}",
        "## Provenance",
        _markdown_table(provenance_view(inputs)),
        "## Key numbers",
        _markdown_table(key_numbers(inputs)),
        "## Not applicable or not run",
        "\n".join(f"- **{name}**: {reason}" for name, reason in not_applicable(inputs))
        or "Every metric of this study was computed.",
        "Full tables and figures: report.html in this folder.",
    ]
    return "\n\n".join(sections) + "\n"


def write_report(run_folder: str | Path) -> Path:
    """Write report.html (self-contained, offline) and report.md into ``run_folder``; returns report.html."""
    inputs = load_run(run_folder)
    built = build_figures(inputs)
    page = inputs.folder / "report.html"
    page.write_text(render_html(inputs, built), encoding="utf-8")
    (inputs.folder / "report.md").write_text(render_markdown(inputs), encoding="utf-8")
    return page


def main(argv: Sequence[str] | None = None) -> int:
    """Write the report of one run folder from its results (no model is loaded)."""
    parser = argparse.ArgumentParser(prog="python -m experiments.reporting.report", description=main.__doc__)
    parser.add_argument("run_folder", type=Path, help="a study run folder (runs/<preset>-<hash>)")
    page = write_report(parser.parse_args(argv).run_folder)
    print(f"wrote {page} and {page.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
