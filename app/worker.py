"""Settling a web worker once it has loaded everything (gunicorn's ``post_worker_init``, the benchmarks)."""

from __future__ import annotations

import gc

#: Young-generation threshold of the cyclic garbage collector in a worker. Python's default (700) ran about
#: 75 collections during one dashboard view; at 10,000 a few run.
GC_YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Freeze what the worker has loaded, so the collector's full passes no longer walk the app's long-lived
    objects (about 160,000; such a pass cost about 100 ms in the middle of a request), and collect the
    young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
