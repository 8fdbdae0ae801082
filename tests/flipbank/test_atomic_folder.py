from pathlib import Path

import pytest

from flipbank.atomic_folder import atomic_path
from interp.provenance import PROVENANCE_FILE, collect_provenance, write_provenance


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "records.jsonl"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half written", encoding="utf-8")
        raise RuntimeError("crash")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["records.jsonl"]


def test_provenance_is_written_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    provenance = collect_provenance("tiny-mm", None, "cpu", "float32", "chat", seed=0)
    path = write_provenance(tmp_path / "run", provenance)
    assert path == tmp_path / "run" / PROVENANCE_FILE
    assert '"model_spec": "tiny-mm"' in path.read_text()
    assert sorted(p.name for p in path.parent.iterdir()) == [PROVENANCE_FILE]
