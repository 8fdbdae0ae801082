"""The MedGemma-4B rehearsal's helpers for ``scripts/rehearse_medgemma.sh``: build the throwaway HF cache,
write the questions, run a command while measuring its wall time and peak RSS, and summarise a finished
rehearsal (per-step seconds from the run folder's step markers, peak memory, FlipBank size, report).

    python -m experiments.commands.rehearsal build-cache --hf-home DIR --scale tiny
    python -m experiments.commands.rehearsal questions --folder DIR --questions 4 --paraphrases 3
    python -m experiments.commands.rehearsal measure --out study.json -- psf-workbench study ...
    python -m experiments.commands.rehearsal summary --workdir DIR
"""

from __future__ import annotations

import json
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(no_args_is_help=True, help="MedGemma-4B rehearsal helpers.")
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
MEASURES = ("build", "study")


@app.command("build-cache")
def build_cache(
    hf_home: Path = typer.Option(..., help="the throwaway HF_HOME to fill"),
    scale: str = typer.Option("tiny", help="full (MedGemma-4B's exact shapes) or tiny"),
    seed: int = typer.Option(0, help="seed of the random weights"),
) -> None:
    """Build the random MedGemma-4B stand-in and its Gemma Scope 2 SAE into ``hf_home`` (once)."""
    from experiments.stand_ins.rehearsal_cache import build_rehearsal_cache
    from experiments.stand_ins.rehearsal_model import parse_scale

    try:
        parsed = parse_scale(scale)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--scale") from error
    typer.echo(json.dumps(build_rehearsal_cache(hf_home, parsed, seed=seed), indent=2))


@app.command("questions")
def questions(
    folder: Path = typer.Option(..., help="folder that receives the JSON and the images"),
    n_questions: int = typer.Option(4, "--questions", min=2, help="how many questions"),
    n_paraphrases: int = typer.Option(3, "--paraphrases", min=1, max=5, help="paraphrases per question"),
) -> None:
    """Write the PSF-Med MIMIC-format questions and their synthetic images; print both paths."""
    from experiments.stand_ins.rehearsal_questions import write_rehearsal_questions

    path, root = write_rehearsal_questions(folder, n_questions, n_paraphrases)
    typer.echo(f"{path}\n{root}")


def measure_command(command: list[str], out: Path) -> int:
    """Run ``command``, write its exit status, wall seconds and peak RSS (the largest waited-for child's
    maximum resident set, what ``/usr/bin/time -v`` reports) to ``out``; return the exit status."""
    start = time.perf_counter()
    status = subprocess.run(command, check=False).returncode
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    record = {
        "command": command,
        "returncode": status,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is in KiB on Linux
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    return status


@app.command("measure", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def measure(ctx: typer.Context, out: Path = typer.Option(..., help="JSON file for the measurements")) -> None:
    """Run the command after ``--``, measuring its wall time and peak RSS; exit with its status."""
    if not ctx.args:
        raise typer.BadParameter("give the command to run after --")
    raise typer.Exit(measure_command(list(ctx.args), out))


def find_run_folder(workdir: Path) -> Path | None:
    """The run folder that the last study named in ``study.log`` (``study medgemma-4b → <folder>``), else
    the newest ``medgemma-4b-<hash>`` folder under ``workdir/runs``."""
    log = workdir / "study.log"
    if log.is_file():
        named = [
            line.split(" → ", 1)[1] for line in log.read_text().splitlines() if line.startswith("study ")
        ]
        if named and Path(named[-1]).is_dir():
            return Path(named[-1])
    folders = sorted((workdir / "runs").glob("medgemma-4b-*"), key=lambda path: path.stat().st_mtime)
    return folders[-1] if folders else None


def _steps(folder: Path) -> dict[str, float | None]:
    from experiments.commands.study import STEPS
    from experiments.run_folder import marker_path

    seconds: dict[str, float | None] = {}
    for name, _ in STEPS:
        marker = marker_path(folder, name)
        seconds[name] = float(json.loads(marker.read_text())["seconds"]) if marker.is_file() else None
    return seconds


def _counts(folder: Path) -> dict[str, int]:
    import pandas as pd

    from experiments.run_files import FLIPBANK_JSONL, MINED_ROWS

    counts: dict[str, int] = {}
    rows = folder / MINED_ROWS
    if rows.is_file():
        counts["mined_prompts"] = len(pd.read_parquet(rows, columns=["question_id"]))
    flipbank = folder / FLIPBANK_JSONL
    if flipbank.is_file():
        counts["flipbank_pairs"] = sum(1 for line in flipbank.read_text().splitlines() if line.strip())
    return counts


def summarise(workdir: Path) -> dict[str, Any]:
    """The rehearsal's facts: measurements, per-step seconds (None: not finished), counts and report."""
    summary: dict[str, Any] = {"workdir": str(workdir)}
    settings = workdir / "settings.json"
    if settings.is_file():
        summary["settings"] = json.loads(settings.read_text())
    for name in MEASURES:
        path = workdir / f"{name}.measure.json"
        summary[name] = json.loads(path.read_text()) if path.is_file() else None
    folder = find_run_folder(workdir)
    summary["run_folder"] = None if folder is None else str(folder)
    if folder is not None:
        summary["steps"] = _steps(folder)
        summary["counts"] = _counts(folder)
        summary["report"] = str(folder / "report.html") if (folder / "report.html").is_file() else None
    steps = summary.get("steps") or {}
    summary["all_steps_finished"] = bool(steps) and all(value is not None for value in steps.values())
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """A short Markdown rendering of `summarise`'s facts."""
    lines = [f"# MedGemma-4B rehearsal ({summary.get('settings', {}).get('scale', '?')} scale)", ""]
    for name in MEASURES:
        record = summary.get(name)
        if record is not None:
            lines.append(
                f"- {name}: exit {record['returncode']}, {record['wall_seconds']} s, "
                f"peak RSS {record['peak_rss_mib']} MiB"
            )
    for step, seconds in (summary.get("steps") or {}).items():
        lines.append(f"- step {step}: " + ("not finished" if seconds is None else f"{seconds:.1f} s"))
    for name, count in (summary.get("counts") or {}).items():
        lines.append(f"- {name.replace('_', ' ')}: {count}")
    lines.append(f"- report: {summary.get('report')}")
    lines.append(f"- all steps finished: {summary['all_steps_finished']}")
    return "\n".join(lines) + "\n"


@app.command("summary")
def summary(workdir: Path = typer.Option(..., help="the rehearsal's work folder")) -> None:
    """Write ``summary.json`` and ``summary.md`` into ``workdir`` and print the latter; exit 1 when a step
    did not finish."""
    facts = summarise(workdir)
    (workdir / SUMMARY_JSON).write_text(json.dumps(facts, indent=2) + "\n")
    text = format_summary(facts)
    (workdir / SUMMARY_MD).write_text(text)
    typer.echo(text)
    if not facts["all_steps_finished"]:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
