"""``--ray`` on a real local Ray cluster: a head and a second node started here on 127.0.0.1
(tests/ray_cluster.py), stopped at the end.

The cluster's processes inherit an environment with ``tests/ray_hooks`` on PYTHONPATH: its
``sitecustomize`` kills the worker that first claims a marker file, which only the
killed-worker test creates, so that a worker dies mid-job at a known point.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

pytest.importorskip("ray")
pytest.importorskip("ray.data")

from helpers import gradient, write  # noqa: E402
from ray_cluster import ENV, local_cluster  # noqa: E402
from video_clips import make_clip  # noqa: E402

HOOKS = Path(__file__).parent / "ray_hooks"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(address, marker path, driver env) of a two-node cluster on this machine."""
    marker = tmp_path_factory.mktemp("ray") / "kill-once"
    env = {"PYTHONPATH": os.pathsep.join([str(HOOKS), os.environ.get("PYTHONPATH", "")]),
           "COLORIZE_TEST_KILL_ONCE": str(marker)}
    with local_cluster(nodes=2, cpus=2, env=env) as address:
        yield address, marker, {**os.environ, **ENV}


def colorize(env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "colorize_cli", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=300)


def _rows(stdout: str) -> dict[str, dict]:
    return {Path(r["input"]).name: r for r in map(json.loads, stdout.splitlines())}


@pytest.fixture(scope="module")
def photos(tmp_path_factory, cluster):
    d = tmp_path_factory.mktemp("photos")
    for i in range(6):
        write(d / f"p{i}.png", np.roll(gradient(40 + 4 * i, 56), 3 * i, axis=1))
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    return d


def _same_images(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        x, y = cv2.imread(str(a / name), cv2.IMREAD_UNCHANGED), cv2.imread(str(b / name), cv2.IMREAD_UNCHANGED)
        assert x.shape == y.shape and np.abs(x.astype(int) - y).max() <= 1, name


def test_images_on_two_nodes_equal_a_local_run(cluster, photos, bins_model, tmp_path):
    address, _, env = cluster
    local = colorize(env, "images", photos, "-o", tmp_path / "local", "-m", bins_model, "--json")
    dist = colorize(env, "images", photos, "-o", tmp_path / "ray", "-m", bins_model, "--json", "--ray", address,
                    "--workers", "2", "--batch-size", "2")
    assert local.returncode == dist.returncode == 1, dist.stderr  # the broken file fails in both
    assert _rows(local.stdout).keys() == _rows(dist.stdout).keys()
    for name, row in _rows(dist.stdout).items():
        assert row["status"] == _rows(local.stdout)[name]["status"]
    bad = [ln for ln in dist.stderr.splitlines() if ln.startswith("colorize: error:")]
    assert bad == [ln for ln in local.stderr.splitlines() if ln.startswith("colorize: error:")]
    assert "broken.jpg" in bad[0]
    _same_images(tmp_path / "local", tmp_path / "ray")


def test_a_rerun_resumes(cluster, photos, bins_model, tmp_path):
    address, _, env = cluster
    out = tmp_path / "out"
    first = colorize(env, "images", photos, "-o", out, "-m", bins_model, "--ray", address, "-q")
    assert first.returncode == 1
    kept = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    (out / "p2.png").unlink()
    (out / "p4.png").unlink()
    again = colorize(env, "images", photos, "-o", out, "-m", bins_model, "--ray", address, "--json")
    rows = _rows(again.stdout)
    assert {n for n, r in rows.items() if r["status"] == "ok"} == {"p2.png", "p4.png"}
    assert {n for n, r in rows.items() if r["status"] == "skipped"} == set(kept) - {"p2.png", "p4.png"}
    for name, mtime in kept.items():
        if name not in ("p2.png", "p4.png"):
            assert (out / name).stat().st_mtime_ns == mtime  # finished outputs untouched
    assert again.returncode == 1 and "4 colourised" not in again.stderr


def test_a_killed_worker_loses_nothing(cluster, photos, bins_model, tmp_path):
    address, marker, env = cluster
    marker.write_text("die once")
    try:
        dist = colorize(env, "images", photos, "-o", tmp_path / "ray", "-m", bins_model, "--json", "--ray", address,
                        "--workers", "2", "--batch-size", "1")
    finally:
        died = Path(str(marker) + ".taken").exists()
        marker.unlink(missing_ok=True)
        Path(str(marker) + ".taken").unlink(missing_ok=True)
    assert died, "no worker claimed the marker: the hook did not run"
    rows = _rows(dist.stdout)
    assert len(dist.stdout.splitlines()) == len(rows) == 7  # one line per input, none twice
    assert dist.returncode == 1 and {n for n, r in rows.items() if r["status"] == "error"} == {"broken.jpg"}
    local = colorize(env, "images", photos, "-o", tmp_path / "local", "-m", bins_model, "-q")
    assert local.returncode == 1
    _same_images(tmp_path / "local", tmp_path / "ray")
    assert not [p for p in (tmp_path / "ray").iterdir() if p.name.startswith(".")]  # no temporaries left


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_a_film_split_over_two_workers_equals_the_local_film(cluster, bins_model, tmp_path):
    address, _, env = cluster
    films = tmp_path / "films"
    make_clip(films / "long.mp4", n=60, w=64, h=48, rate=30, cut_at=33, audio=None)
    make_clip(films / "short.mp4", n=12, w=64, h=48, rate=30, audio=None)
    common = ["-m", bins_model, "--smooth", "--window", "8", "--segment-seconds", "0.2", "--codec", "ffv1", "--json"]
    local = colorize(env, "video", films, "-o", tmp_path / "local", *common)
    assert local.returncode == 0, local.stderr
    dist = colorize(env, "video", films, "-o", tmp_path / "ray", *common, "--ray", address, "--workers", "2",
                    "--split-seconds", "0.4")
    assert dist.returncode == 0, dist.stderr
    rows = _rows(dist.stdout)
    assert rows["long.mp4"]["frames"] == 60 and rows["short.mp4"]["frames"] == 12
    assert rows["long.mp4"]["scene_cuts"] == _rows(local.stdout)["long.mp4"]["scene_cuts"] == 1
    for name in ("long.mp4", "short.mp4"):
        out = Path(rows[name]["output"])
        assert out.parent == tmp_path / "ray" and Path(_rows(local.stdout)[name]["output"]).name == out.name
        a, b = _frames(tmp_path / "local" / out.name), _frames(out)
        assert len(a) == len(b)
        assert max(int(np.abs(x.astype(int) - y).max()) for x, y in zip(a, b)) <= 1
    assert not list((tmp_path / "ray").glob("*.partial"))
    # A rerun skips the finished films.
    again = colorize(env, "video", films, "-o", tmp_path / "ray", *common, "--ray", address, "--split-seconds", "0.4")
    assert again.returncode == 0 and {r["status"] for r in _rows(again.stdout).values()} == {"skipped"}
    shutil.rmtree(tmp_path / "ray")


def test_bad_values_name_their_parameter(bins_model, tmp_path):
    from colorize_cli.distributed import cluster_workers, run_videos
    from colorize_cli.errors import ParameterError
    from colorize_cli.film.options import VideoOptions

    with pytest.raises(ParameterError) as err:
        cluster_workers(0)
    assert err.value.param == "workers"
    with pytest.raises(ParameterError) as err:
        run_videos(None, [], VideoOptions(), print, split_seconds=0)
    assert err.value.param == "split_seconds"
