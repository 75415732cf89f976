"""Silencing native libraries that write straight to file descriptor 2.

onnxruntime prints pages of errors when the CUDA provider cannot load its libraries, and
libpng/libtiff print warnings for damaged files. Python's ``sys.stderr`` cannot catch those, so
we point fd 2 at a temporary file for the duration and hand the text back to the caller, which
decides whether any of it is worth showing.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator

# fd 2 is process-wide: two threads swapping it at once would lose the real stderr.
_lock = threading.RLock()


class Captured:
    """Text written to fd 2 inside a :func:`capture_fd2` block (available after it ends)."""

    text: str = ""


@contextlib.contextmanager
def capture_fd2() -> Iterator[Captured]:
    """Capture what C libraries write to file descriptor 2 while the body runs."""
    captured = Captured()
    with _lock:
        try:
            sys.stderr.flush()
        except (AttributeError, ValueError):
            pass
        try:
            saved = os.dup(2)
        except OSError:
            # No fd 2 at all (some daemons): nothing to protect.
            yield captured
            return
        with tempfile.TemporaryFile(mode="w+b") as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                yield captured
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                captured.text = tmp.read().decode("utf-8", "replace")
