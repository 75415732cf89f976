import numpy as np
import pytest

from colorize_cli.model import engine as engine_mod
from colorize_cli.model.engine import Engine
from colorize_cli.errors import ColorizeError


def test_cpu_engine_runs_batches(bins_model):
    eng = Engine(bins_model, device="cpu", batch_size=2)
    assert eng.device == "cpu" and eng.provider == "CPUExecutionProvider"
    rng = np.random.default_rng(0)
    L = (rng.random((5, 1, 16, 24)) * 100).astype(np.float32)
    out = eng.run(L)
    assert out.shape == (5, 8, 16, 24)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-4)  # softmax inside the graph
    singles = np.concatenate([eng.run(L[i:i + 1]) for i in range(5)])
    np.testing.assert_allclose(out, singles, atol=1e-5)
    assert "fixture-bins" in eng.describe() and "CPU" in eng.describe()


def test_one_session_is_reused(bins_model, monkeypatch):
    eng = Engine(bins_model, device="cpu")
    session = eng.session
    calls = []
    monkeypatch.setattr(engine_mod, "open_session", lambda *a, **k: calls.append(a))
    for _ in range(3):
        eng.run(np.zeros((1, 1, 8, 8), np.float32))
    assert eng.session is session and calls == []


def test_inputs_off_the_stride_are_refused(bins_model):
    eng = Engine(bins_model, device="cpu")
    with pytest.raises(ValueError, match="stride"):
        eng.run(np.zeros((1, 1, 10, 16), np.float32))


def test_output_stride_model(models_dir):
    eng = Engine(models_dir / "fixture-bins4.onnx", device="cpu")
    assert eng.run(np.zeros((2, 1, 32, 48), np.float32)).shape == (2, 8, 8, 12)


def test_cuda_requested_on_a_cpu_build_is_a_clear_error(bins_model, monkeypatch):
    monkeypatch.setattr("onnxruntime.get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(ColorizeError, match="^device cuda"):
        Engine(bins_model, device="cuda")


def test_auto_falls_back_to_cpu_quietly_when_cuda_does_not_initialise(bins_model, monkeypatch, capfd):
    """Pretend the CUDA provider is installed (as with onnxruntime-gpu on a machine without CUDA):
    onnxruntime falls back to CPU and complains on fd 2; none of that may reach the user."""
    monkeypatch.setattr("onnxruntime.get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    eng = Engine(bins_model, device="auto")
    assert eng.device == "cpu"
    out, err = capfd.readouterr()
    assert err == "" and out == ""
    assert "CPU" in eng.describe()


def test_unknown_device(bins_model):
    with pytest.raises(ColorizeError):
        Engine(bins_model, device="tpu")


def test_threads_default_to_available_cpus(bins_model):
    eng = Engine(bins_model, device="cpu")
    assert eng.session.get_session_options().intra_op_num_threads == engine_mod.default_threads() >= 1
