import csv
import json
from pathlib import Path

from experiments.model_options import ModelConfig
from experiments.steps.demo_margins import DEMO_PAIRS, format_table, run_demo_margins
from interp.prompts import PromptStyle


def test_demo_margins_write_results_with_provenance(tmp_path: Path) -> None:
    options = ModelConfig(spec="tiny-mm", prompt_style=PromptStyle.CHAT)
    pairs = run_demo_margins(options, tmp_path)
    assert len(pairs) == len(DEMO_PAIRS)
    with (tmp_path / "demo-margins" / "margins.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["original"] for row in rows] == [pair[0] for pair in DEMO_PAIRS]
    assert float(rows[0]["original_margin"]) == pairs[0].original_score.margin
    provenance = json.loads((tmp_path / "demo-margins" / "provenance.json").read_text())
    assert provenance["model_spec"] == "tiny-mm" and provenance["dtype"] == "float32"
    assert provenance["prompt_template"].startswith("chat")
    assert provenance["packages"]["transformers"].startswith("5.")
    table = format_table(pairs)
    assert table.count("\n") == len(DEMO_PAIRS) + 1
