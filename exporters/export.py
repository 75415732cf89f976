"""Export a training run to an ONNX file that follows docs/models.md.

    python -m exporters.export runs/unet-gan --out weights/unet-gan.onnx --working-size 128

Checks onnxruntime against torch on random inputs of two shapes (max absolute difference on
probabilities or ab must stay under 1e-3) and writes `RUN/export-<out stem>.json` with the sha256, the
parity figures and the training facts the model card needs.
"""
from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from colorize_cli.model.registry import file_sha256

from . import families
from .nets import count_parameters
from .state import cast_state

PARITY_TOLERANCE = 1e-3


def metadata(name: str, net: torch.nn.Module, working_size: int, version: str, bins: np.ndarray | None,
             temperature: float | None, description: str, license_: str, label: str | None = None) -> dict[str, str]:
    """The contract's metadata for family `name` (a key of `families.FAMILIES`), shown to users as `label`."""
    family = families.get(name)
    meta = {"colorize.contract": "1", "name": label or name, "version": version, "kind": family.kind, "input": "L:0..100",
            "working_size": str(working_size), "stride": str(net.stride), "output_stride": str(net.output_stride),
            "description": description, "license": license_}
    return meta | family.export_metadata(bins, temperature)


def export_module(module: torch.nn.Module, out: Path, meta: dict[str, str], output_name: str) -> None:
    """Write `module` (L → probs/ab) to `out` with dynamic N/H/W and the metadata, atomically."""
    module.eval()
    example = torch.rand(1, 1, 64, 96) * 100
    tmp = out.with_suffix(".tmp.onnx")
    # The TorchScript exporter is deprecated but still the one that gives dynamic H/W through
    # bilinear resizes without guards; its deprecation notice is noise for users of this tool.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx.*|exporters.*")
    torch.onnx.export(module, (example,), str(tmp), input_names=["L"], output_names=[output_name],
                      dynamic_axes={"L": {0: "N", 2: "H", 3: "W"}, output_name: {0: "N", 2: "h", 3: "w"}},
                      opset_version=17, dynamo=False)
    model = onnx.load(str(tmp))
    del model.metadata_props[:]
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    onnx.save(model, str(tmp))
    os.replace(tmp, out)


def write_state(ckpt: dict, dest: Path) -> None:
    """The weights (fp16), step, minutes, images seen and bins of a checkpoint, for ``--init``."""
    batch = int((ckpt.get("args") or {}).get("batch", 32))
    state = {"model": ckpt["model"], "net": cast_state(ckpt["net"], torch.float16), "step": ckpt["step"],
             "seconds": ckpt["seconds"], "images": ckpt.get("images", ckpt["step"] * batch), "args": ckpt.get("args")}
    state.update(families.get(ckpt["model"]).committed(ckpt))
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, dest)


def parity(module: torch.nn.Module, path: Path, stride: int) -> float:
    """Max |onnxruntime − torch| over random L of two shapes, one not square."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    gen = torch.Generator().manual_seed(0)
    for n, h, w in [(2, 2 * stride, 3 * stride), (1, 4 * stride, 2 * stride)]:
        L = torch.rand(n, 1, h, w, generator=gen) * 100
        with torch.no_grad():
            ref = module(L).numpy()
        got = sess.run(None, {"L": L.numpy()})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    return worst


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m exporters.export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="training run folder (holds ckpt.pt)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--name", help="name users type after --model (default: the model family), e.g. "
                    "unet-l1 for a unet-gan run stopped before its adversarial stage")
    ap.add_argument("--snapshot", help="export RUN/snap-SNAPSHOT.pt (a unet-gan snapshot: a step, or 'pretrain') instead of the last checkpoint")
    ap.add_argument("--working-size", type=int, default=128)
    ap.add_argument("--temperature", type=float, default=None)
    ap.add_argument("--version", default="1.0.0")
    ap.add_argument("--description", default="")
    ap.add_argument("--state", type=Path, help="also write the run's weights in fp16 here (small enough to commit; "
                    "`exporters.train --init` continues from it on another machine)")
    ap.add_argument("--license", default="weights trained on MiniPlaces/Tiny-ImageNet/ImageNet-sample/BSDS500: non-commercial research use")
    args = ap.parse_args(argv)

    source = args.run / (f"snap-{args.snapshot}.pt" if args.snapshot else "ckpt.pt")
    ckpt = torch.load(source, map_location="cpu", weights_only=False)
    name = ckpt["model"]
    family = families.get(name)
    net = family.network(pretrained=False)
    net.load_state_dict(cast_state(ckpt["net"], torch.float32))
    net.eval()
    wrapper, output = family.exported(net)
    meta = metadata(name, net, args.working_size, args.version, ckpt.get("bins"), args.temperature,
                    args.description, args.license, args.name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export_module(wrapper, args.out, meta, output)
    diff = parity(wrapper, args.out, net.stride)
    if diff >= PARITY_TOLERANCE:
        args.out.unlink()
        raise SystemExit(f"parity check failed: max |onnxruntime − torch| = {diff:.2e} ≥ {PARITY_TOLERANCE}")
    report = {"model": name, "source": source.name, "file": str(args.out), "sha256": file_sha256(args.out), "bytes": args.out.stat().st_size,
              "parameters": count_parameters(net), "steps": ckpt["step"], "train_minutes": round(ckpt["seconds"] / 60, 1),
              "parity_max_abs_diff": diff, "pack": ckpt.get("pack"), "args": ckpt.get("args"), "metadata": {k: v for k, v in meta.items() if k != "bins"}}
    (args.run / f"export-{args.out.stem}.json").write_text(json.dumps(report, indent=2))
    if args.state:
        write_state(ckpt, args.state)
    print(json.dumps({k: report[k] for k in ("model", "file", "sha256", "bytes", "parameters", "steps", "train_minutes", "parity_max_abs_diff")}))


if __name__ == "__main__":
    main()
