"""Nothing changes for users (issue 19): the commands' outputs on fixed inputs equal the
golden digests recorded before the package was restructured (tests/golden_cases.py says what is
compared and how; tests/record_golden.py wrote tests/golden/golden.json)."""

from __future__ import annotations

import json

import pytest

from golden_cases import GOLDEN, cli_invoker, run_cases


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def got(tmp_path_factory) -> dict:
    return run_cases(tmp_path_factory.mktemp("golden"), cli_invoker())


def test_inputs_are_the_recorded_ones(golden, got):
    """If this fails, the machine's encoders changed: record again; the code is not at fault."""
    assert got["inputs"] == golden["inputs"]


@pytest.mark.parametrize("case", ["images-bins", "images-ab", "images-bins4", "images-tiff-confidence",
                                  "images-hints", "video-plain", "video-smooth", "video-smooth-window",
                                  "video-keyframes", "video-identity", "evaluate-json"])
def test_outputs_are_byte_identical(golden, got, case):
    assert got["inputs"] == golden["inputs"], "inputs differ: re-record the golden file on this machine"
    assert got[case]["exit"] == 0
    assert got[case] == golden[case]


def test_a_two_node_ray_film_equals_its_golden(golden, tmp_path):
    pytest.importorskip("ray")
    if "video-ray" not in golden:
        pytest.skip("no Ray film in the golden file (record with tests/record_golden.py --ray local2)")
    from ray_cluster import local_cluster

    with local_cluster(nodes=2, cpus=1) as address:
        got = run_cases(tmp_path, cli_invoker(), address)
    assert got["video-ray"] == golden["video-ray"]
