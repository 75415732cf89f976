"""Nothing changes for users (issue 19): the commands' outputs on fixed inputs equal the
golden digests recorded before the package was restructured (tests/golden_cases.py says what is
compared and how; tests/record_golden.py wrote tests/golden/golden.json)."""

from __future__ import annotations

import json

import pytest

from golden_cases import GOLDEN, cli_invoker, comparable, run_cases


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def got(tmp_path_factory) -> dict:
    return run_cases(tmp_path_factory.mktemp("golden"), cli_invoker())


def _inputs(got: dict, golden: dict) -> dict:
    film = comparable({k[5:]: v for k, v in got["inputs"].items() if k.startswith("film/")},
                      {k[5:]: v for k, v in golden["inputs"].items() if k.startswith("film/")})
    return {**{k: v for k, v in got["inputs"].items() if not k.startswith("film/")},
            **{f"film/{k}": v for k, v in film.items()}}


def test_inputs_are_the_recorded_ones(golden, got):
    """If this fails, the machine's encoders changed: record again; the code is not at fault."""
    assert _inputs(got, golden) == _inputs(golden, got)


@pytest.mark.parametrize("case", ["images-bins", "images-ab", "images-bins4", "images-tiff-confidence",
                                  "images-hints", "video-plain", "video-smooth", "video-smooth-window",
                                  "video-keyframes", "video-identity", "evaluate-json"])
def test_outputs_are_byte_identical(golden, got, case):
    assert _inputs(got, golden) == _inputs(golden, got), "inputs differ: re-record the golden file on this machine"
    assert got[case]["exit"] == 0
    assert comparable(got[case], golden[case]) == comparable(golden[case], got[case])


def test_a_two_node_ray_film_equals_its_golden(golden, tmp_path):
    pytest.importorskip("ray")
    if "video-ray" not in golden:
        pytest.skip("no Ray film in the golden file (record with tests/record_golden.py --ray local2)")
    from ray_cluster import local_cluster

    with local_cluster(nodes=2, cpus=1) as address:
        got = run_cases(tmp_path, cli_invoker(), address)
    assert comparable(got["video-ray"], golden["video-ray"]) == comparable(golden["video-ray"], got["video-ray"])
