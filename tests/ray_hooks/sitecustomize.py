"""Test hook for tests/test_ray.py, active only in the Ray cluster that test starts (this folder
is on its PYTHONPATH): the first worker to claim the marker file named by
COLORIZE_TEST_KILL_ONCE dies on the spot, as if killed, when it starts reading an image."""

import os

_marker = os.environ.get("COLORIZE_TEST_KILL_ONCE")

if _marker:
    try:
        import colorize_cli.batch as _batch
    except ImportError:  # a process that cannot see the package is no worker of ours
        _batch = None
    if _batch is not None:
        _decode = _batch._decode

        def _decode_or_die(*args, **kwargs):
            try:
                os.rename(_marker, _marker + ".taken")  # atomic: one process, once
            except OSError:
                return _decode(*args, **kwargs)
            os._exit(1)

        _batch._decode = _decode_or_die
