"""Settling a worker's garbage collector (gunicorn's ``post_worker_init`` calls it)."""

import gc

from app.worker import GC_YOUNG_THRESHOLD, settle


def test_settling_freezes_the_loaded_objects_and_collects_the_young_less_often():
    threshold = gc.get_threshold()
    try:
        settle()
        assert gc.get_freeze_count() > 10_000  # the app, its libraries and their caches
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
