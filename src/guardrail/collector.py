"""Python's cyclic collector, run rarely where it only rescans long-lived objects.

At its default (a collection every 700 net allocations) it rescans the tens of thousands of objects a command's
imports and parsing leave alive: ~10% of a cold `roster check` or `gate`, and while an audit streams a full
collection every ~14,000 events, 14 us of CPU per event, to free 5 objects in 71 collections. Young garbage is
still collected every RARE[0] net allocations; what stays alive is bounded by the command's inputs or buffers.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

RARE = (100_000, 50, 1000)  # gc.set_threshold while collecting rarely


@contextmanager
def collecting_rarely() -> Iterator[None]:
    """The collector at RARE inside, as it was afterwards (also after an error)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(*RARE)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


__all__ = ["RARE", "collecting_rarely"]
