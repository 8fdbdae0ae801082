import threading
import time
from pathlib import Path

import pytest

from flipbank.atomic_folder import atomic_path, build_folder_atomically, is_complete
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


def test_a_folder_wanted_by_two_workers_at_once_is_built_once(tmp_path: Path) -> None:
    builds: list[str] = []

    def build(staging: Path) -> None:
        builds.append(staging.name)
        time.sleep(0.3)  # long enough for the other worker to arrive while this one builds
        (staging / "weights.bin").write_bytes(b"w")

    folder = tmp_path / "cache" / "model"
    workers = [threading.Thread(target=build_folder_atomically, args=(folder, build)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(builds) == 1 and is_complete(folder) and (folder / "weights.bin").read_bytes() == b"w"
