"""colorize_files reads ahead and writes behind in threads: results still come in job order,
one per job, in the calling thread, and a model failure stops the run cleanly."""

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from colorize_cli.batch import BatchOptions, colorize_files
from colorize_cli.model.engine import Engine
from colorize_cli.errors import ModelError
from colorize_cli.io.inputs import Job
from colorize_cli.pipeline import Pipeline
from helpers import gradient, write


def _jobs(tmp_path: Path) -> list[Job]:
    src = tmp_path / "in"
    jobs = []
    for i in range(7):
        p = src / f"{i}.png"
        if i == 2:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"not a png")
        else:
            write(p, np.roll(gradient(30 + i, 40), i, axis=1))
        jobs.append(Job(p, Path(p.name)))
    return jobs


def test_results_in_job_order_from_the_calling_thread(bins_model, tmp_path):
    jobs = _jobs(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    write(out / "4.png", gradient(8, 8))  # already done: skipped
    seen, threads = [], set()

    def on_result(res):
        seen.append((Path(res.input).name, res.status))
        threads.add(threading.current_thread().name)

    pipe = Pipeline(Engine(bins_model, device="cpu", batch_size=2))
    results = colorize_files(pipe, jobs, BatchOptions(out_dir=out), on_result)
    assert [n for n, _ in seen] == [j.src.name for j in jobs]
    assert dict(seen) == {"0.png": "ok", "1.png": "ok", "2.png": "error", "3.png": "ok", "4.png": "skipped",
                          "5.png": "ok", "6.png": "ok"}
    assert threads == {threading.current_thread().name} and len(results) == 7
    assert sorted(p.name for p in out.iterdir()) == ["0.png", "1.png", "3.png", "4.png", "5.png", "6.png"]


def test_a_model_failure_propagates_and_leaves_no_temporaries(bins_model, tmp_path, monkeypatch):
    pipe = Pipeline(Engine(bins_model, device="cpu", batch_size=2))
    calls = []

    def failing(batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise ModelError(bins_model, "inference failed")
        return Engine.run(pipe.engine, batch)

    monkeypatch.setattr(pipe.engine, "run", failing)
    out = tmp_path / "out"
    with pytest.raises(ModelError):
        colorize_files(pipe, _jobs(tmp_path), BatchOptions(out_dir=out), lambda r: None)
    assert not [p for p in out.rglob(".*")]
    # The writer is joined; the reader is not (a read stuck on a slow disk must not hold up the
    # error), so a read already under way ends on its own, soon after.
    assert not [t for t in threading.enumerate() if t.name.startswith("colorize-write")]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _stage_threads():
        time.sleep(0.01)
    assert not _stage_threads()


def _stage_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("colorize-read", "colorize-write"))]
