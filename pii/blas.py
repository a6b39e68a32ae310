"""Single-threaded OpenBLAS for the NER model's matrix products, when numpy's OpenBLAS is there.

spaCy's small NER model spends a third of its time in seven small matrix products a call
(tens of rows, 288 or 384 columns). Through blis (thinc's default) they run at a quarter of
the speed numpy's OpenBLAS reaches on one thread, and NER is most of the cost of scrubbing a
record. But OpenBLAS splits products this size over every core, and on a small shared machine
its threads spin waiting for each other: measured, three times *slower* than blis.

So `single_threaded()` pins OpenBLAS to one thread for the duration of an NER call and then
puts the previous setting back (nested and concurrent calls are counted, so the last one out
restores it); other numpy work in the process is untouched outside those calls. OpenBLAS is
found among the libraries already loaded (numpy's wheel bundles one); without it (another
BLAS, another platform) `available()` is false and the model keeps blis.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

_SYMBOLS: tuple[tuple[str, str], ...] = (
    # (set, get): numpy >= 2 wheels (scipy-openblas, 64-bit ints), numpy 1.x wheels, system
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)


@functools.cache
def _controls() -> tuple[Callable[[int], object], Callable[[], int]] | None:
    """OpenBLAS's thread setter and getter, from a library numpy has already loaded."""
    import numpy  # noqa: F401  # loads numpy's OpenBLAS, if it has one

    maps = Path("/proc/self/maps")
    if not maps.exists():
        return None
    libraries = sorted(
        {line.split()[-1] for line in maps.read_text().splitlines() if "openblas" in line.lower()}
    )
    for path in libraries:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _SYMBOLS:
            if hasattr(library, set_name) and hasattr(library, get_name):
                setter, getter = getattr(library, set_name), getattr(library, get_name)
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                logger.debug("OpenBLAS thread control from %s", path)
                return setter, getter
    return None


def available() -> bool:
    return _controls() is not None


_lock = threading.Lock()
_depth = 0
_previous = 1


@contextmanager
def single_threaded() -> Iterator[None]:
    """OpenBLAS on one thread inside the block (a no-op without OpenBLAS)."""
    global _depth, _previous
    controls = _controls()
    if controls is None:
        yield
        return
    setter, getter = controls
    with _lock:
        if _depth == 0:
            _previous = getter()
            setter(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                setter(_previous)
