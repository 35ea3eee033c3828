"""Python's garbage collector, settled for a long run of frames once the app has started.

Each preview picture and update makes thousands of short-lived containers (segments, strips,
tuples), and the collector's default thresholds (700, 10, 10) then ran about 25 young
collections a second and, every few seconds, a full one over everything the app holds (the
imported libraries, the model, the sources): 0.03 of the app's cores on the demo at 30 fps, and
a full collection stalled every thread for about 0.1 s (2-core AMD EPYC; bench/README.md).
What was loaded at start-up is never garbage, so it is frozen out of every later collection,
and young collections come less often; anything that is garbage is still collected.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # allocations between young collections (Python's default: 700)
OLDER_THRESHOLDS = (10, 10)  # as Python's default: each older generation every 10 of the one below


def settle_after_start() -> None:
    """Freeze what start-up made and collect less often from now on; call once the app is running."""
    gc.collect()  # start-up's own garbage goes first, so it is not frozen for good
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
