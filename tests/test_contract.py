"""Model files off the contract are refused with a clear message naming the file."""

import json

import numpy as np
import pytest
from onnx_fixtures import make_ab_model, make_bins_model

from colorize_cli.model.engine import read_model_info
from colorize_cli.model.engine import Engine
from colorize_cli.errors import ModelError


def test_reads_a_bins_model(bins_model):
    info = read_model_info(bins_model)
    assert (info.name, info.kind, info.num_bins, info.working_size, info.stride) == ("fixture-bins", "bins", 8, 32, 8)
    assert info.temperature == pytest.approx(0.5)
    assert info.bins.shape == (8, 2) and info.bins.dtype == np.float32
    assert info.output_name == "probs" and info.description == "test fixture" and info.license == "MIT"


def test_reads_an_ab_model(ab_model):
    info = read_model_info(ab_model)
    assert (info.kind, info.num_bins, info.output_name, info.temperature) == ("ab", None, "ab", None)


BAD = {
    "missing name": lambda p: make_bins_model(p, drop=("name",)),
    "missing contract": lambda p: make_ab_model(p, drop=("colorize.contract",)),
    "future contract": lambda p: make_ab_model(p, meta={"colorize.contract": "99"}),
    "bad kind": lambda p: make_ab_model(p, meta={"kind": "rgb"}),
    "bad input convention": lambda p: make_ab_model(p, meta={"input": "L:-1..1"}),
    "bad working size": lambda p: make_ab_model(p, meta={"working_size": "big"}),
    "zero stride": lambda p: make_ab_model(p, meta={"stride": "0"}),
    "stride not multiple of output stride": lambda p: make_ab_model(p, meta={"stride": "6", "output_stride": "4"}),
    "bins not json": lambda p: make_bins_model(p, meta={"bins": "[[1, 2], [3"}),
    "bins wrong shape": lambda p: make_bins_model(p, meta={"bins": json.dumps([1, 2, 3])}),
    "bins count differs from graph": lambda p: make_bins_model(p, graph_q=6),
    "missing temperature": lambda p: make_bins_model(p, drop=("temperature",)),
    "negative temperature": lambda p: make_bins_model(p, meta={"temperature": "-1"}),
    "wrong input name": lambda p: make_bins_model(p, input_name="gray"),
    "wrong output name": lambda p: make_bins_model(p, output_name="logits"),
    "ab with 3 channels": lambda p: make_ab_model(p, out_channels=3),
    "kind says ab, graph gives probs": lambda p: make_bins_model(p, meta={"kind": "ab"}),
    "wrong output stride": lambda p: make_bins_model(p, meta={"output_stride": "2"}),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_models_are_refused_with_the_file_named(case, tmp_path):
    path = BAD[case](tmp_path / "bad.onnx")
    with pytest.raises(ModelError) as err:
        Engine(path)  # the engine checks metadata, graph, and a probe run's shapes
    assert str(path) in str(err.value)
    assert err.value.reason


@pytest.mark.parametrize("content", [b"", b"this is not an onnx file\n" * 10])
def test_non_onnx_files_are_refused(tmp_path, content):
    path = tmp_path / "junk.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="junk.onnx"):
        read_model_info(path)


def test_cli_reports_a_bad_model_without_traceback(cli, tmp_path):
    from helpers import gradient, write

    bad = make_bins_model(tmp_path / "bad.onnx", graph_q=6)
    write(tmp_path / "in" / "a.png", gradient())
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "--model", bad)
    assert res.exit_code == 2, res
    assert "Traceback" not in res.stderr + res.stdout
    assert res.stderr.startswith("colorize: error: ") and "bad.onnx" in res.stderr and "channels" in res.stderr
