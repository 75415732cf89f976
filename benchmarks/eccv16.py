"""The speed reference: the ECCV16 colouriser of Zhang et al. 2016, random weights, as a model file.

    python benchmarks/eccv16.py [--out benchmarks/results/eccv16-reference.onnx]   # needs the train extra

"Colorful Image Colorization" (Zhang, Isola, Efros, ECCV 2016) is what a user would otherwise
run, so it is the yardstick the benchmarks divide by. Its speed depends on the layer plan and
the input size, not on the weights, so the weights here are random (seeded) and nothing is
downloaded. The layer plan follows ``ECCVGenerator`` in richzhang/colorization,
``colorizers/eccv16.py`` (BSD-2-Clause), with ``normalize_l`` from ``colorizers/base_color.py``:

* input L normalised as (L − 50) / 100;
* conv1: 2 × conv 3×3 64 (the second stride 2); conv2: 2 × conv 128 (the second stride 2);
  conv3: 3 × conv 256 (the last stride 2); conv4: 3 × conv 512; conv5 and conv6: 3 × conv 512,
  dilation 2; conv7: 3 × conv 512; each conv followed by ReLU and each of these seven blocks
  ended by a BatchNorm;
* conv8: ConvTranspose 4×4 stride 2 to 256, then 2 × conv 256 (ReLU after each), then a 1×1
  conv to the 313 bin logits at a quarter of the input size.

What differs from that file is only the tail, to meet docs/models.md: the graph ends with the
softmax over the 313 bins ("probs", kind ``bins``) and the runtime does the annealed mean
(T = 0.38, the paper's) and the upsampling, as it does for every bins model; the original's
1×1 "mean" conv and its ×4 bilinear upsample are left out. Stride 8 (three stride-2 convs,
one ×2 transposed conv back), output stride 4, working size 256 (the original runs at 256²),
the 313 bins of ``exporters/bins_data/pts_in_hull.npy``.

The export is cached (about 130 MB, git-ignored) and rebuilt when missing or when VERSION
changes; ``reference_model()`` gives its path, building it in a child process so that the
benchmark process never imports torch.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

ROOT = Path(__file__).resolve().parent.parent
NAME = "eccv16-reference"
# Bump when the layer plan or the metadata change, so that a stale cached export is rebuilt.
VERSION = "1.0.0"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / f"{NAME}.onnx"
WORKING_SIZE = 256
TEMPERATURE = 0.38


def build() -> torch.nn.Module:
    """The ECCV16 network (L 0..100 → 313 logits at H/4 × W/4), random weights, eval mode."""
    import torch  # here, not at the top: the benchmark process imports this module without torch
    from torch import nn

    def block(cin: int, cout: int, n: int, stride_at: int | None = None, dilation: int = 1,
              norm: bool = True) -> nn.Sequential:
        layers: list[nn.Module] = []
        for i in range(n):
            stride = 2 if i == stride_at else 1
            layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, stride=stride, padding=dilation,
                                 dilation=dilation), nn.ReLU(inplace=True)]
        if norm:
            layers.append(nn.BatchNorm2d(cout))
        return nn.Sequential(*layers)

    class ECCV16(nn.Module):
        stride = 8
        output_stride = 4

        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                block(1, 64, 2, stride_at=1),  # conv1
                block(64, 128, 2, stride_at=1),  # conv2
                block(128, 256, 3, stride_at=2),  # conv3
                block(256, 512, 3),  # conv4
                block(512, 512, 3, dilation=2),  # conv5
                block(512, 512, 3, dilation=2),  # conv6
                block(512, 512, 3),  # conv7
                nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1), nn.ReLU(inplace=True),  # conv8
                block(256, 256, 2, norm=False),
                nn.Conv2d(256, 313, 1),
            )

        def forward(self, L: torch.Tensor) -> torch.Tensor:
            return self.body((L - 50.0) / 100.0)

    torch.manual_seed(0)
    return ECCV16().eval()


def export(out: Path) -> Path:
    """Write the random-weight ECCV16 to ``out`` following docs/models.md; check it against torch."""
    sys.path.insert(0, str(ROOT))
    from exporters.bins import zhang_bins
    from exporters.export import PARITY_TOLERANCE, export_module, metadata, parity
    from exporters.nets import ExportedBins

    net = build()
    pts, _ = zhang_bins()
    # metadata() looks the model kind up in exporters.families by name: classifier-313 is the
    # kind this is (Zhang's 313 bins, softmax in the graph); bins and temperature are given here,
    # and the name is replaced by ours.
    meta = metadata("classifier-313", net, WORKING_SIZE, VERSION, pts, TEMPERATURE,
                    "ECCV16 layer plan (Zhang et al. 2016) with random weights: a speed reference for "
                    "the benchmarks, its colours are meaningless", "random weights, no licence needed")
    meta["name"] = NAME
    out.parent.mkdir(parents=True, exist_ok=True)
    wrapper = ExportedBins(net)
    export_module(wrapper, out, meta, "probs")
    diff = parity(wrapper, out, net.stride)
    if not diff < PARITY_TOLERANCE:
        out.unlink()
        raise SystemExit(f"ECCV16 export: max |onnxruntime - torch| = {diff:.2e} >= {PARITY_TOLERANCE}")
    return out


def reference_model(out: Path = DEFAULT_OUT) -> Path:
    """The cached ECCV16 export, made first (in a child process: torch stays out of the caller's
    memory) when missing or from another VERSION."""
    from colorize_cli.model.engine import read_model_info
    from colorize_cli.errors import ModelError

    if out.is_file():
        try:
            info = read_model_info(out)
            if info.name == NAME and info.version == VERSION:
                return out
        except ModelError:
            pass  # a broken or half-written cache: make it again
    print(f"exporting the ECCV16 reference to {out} (random weights, about 130 MB)...", flush=True)
    if subprocess.run([sys.executable, __file__, "--out", str(out)]).returncode != 0:
        raise SystemExit("exporting the ECCV16 reference failed (above); it needs torch and onnx: "
                         "pip install '.[train]'")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    path = export(args.out)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.0f} MB)")


if __name__ == "__main__":
    main()
