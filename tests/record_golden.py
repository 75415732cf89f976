"""Record the golden outputs (tests/golden/golden.json) that tests/test_golden.py compares with.

Run it only on the code whose outputs are the reference (issue 19: the layout before the
restructure), from the repository root::

    PYTHONPATH=. python tests/record_golden.py [--ray ADDRESS]

``--ray``: also record the two-node film (``tests/ray_cluster.py`` starts one with
``--ray local2``); without it the Ray case recorded last is kept (its test is skipped if there
is none).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from golden_cases import GOLDEN, cli_invoker, run_cases  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ray", help="a Ray address, or 'local2' for a two-node cluster on this machine")
    args = ap.parse_args()
    os.environ["COLORIZE_MODEL_PATH"] = ""
    with contextlib.ExitStack() as stack:
        address = args.ray
        if address == "local2":
            from ray_cluster import local_cluster

            address = stack.enter_context(local_cluster(nodes=2, cpus=1))
        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        got = run_cases(root, cli_invoker(), address)
    if "video-ray" not in got and GOLDEN.exists():  # recorded without Ray: keep the last Ray film
        kept = json.loads(GOLDEN.read_text(encoding="utf-8")).get("video-ray")
        if kept is not None:
            got["video-ray"] = kept
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}: {len(got)} cases")


if __name__ == "__main__":
    main()
