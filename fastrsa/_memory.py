"""Memory estimates, checked before any large allocation.

Each path's estimate counts the arrays it allocates at its peak (the inputs
the caller already holds are not counted).  Where the estimate exceeds the
memory the system reports as available, the call raises
:class:`InsufficientMemoryError` before allocating anything, instead of failing
deep inside a kernel or pushing the machine into swap.
"""

import os

# Small allocations (one BLAS block, per-bucket copies) that every path adds.
_OVERHEAD = 64 << 20
# Estimates below this are not checked: reading the system's figures costs
# more than a small call's whole work, and any machine has this much.
_UNCHECKED = 256 << 20


class InsufficientMemoryError(MemoryError):
    """A call would need more memory than the machine has available.

    ``needed`` and ``available`` are in bytes.
    """

    def __init__(self, message, needed, available):
        super().__init__(message)
        self.needed = needed
        self.available = available


def available_bytes():
    """Memory the system can give this process without swapping, in bytes
    (``MemAvailable`` on Linux), or ``None`` where it cannot say."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def fits(needed):
    """Whether ``needed`` bytes (plus small buffers) are available."""
    if needed < _UNCHECKED:
        return True
    available = available_bytes()
    return available is None or needed + _OVERHEAD <= available


def require(needed, what, instead):
    """Raise :class:`InsufficientMemoryError` unless ``needed`` bytes fit.

    ``what`` names the computation, ``instead`` says what would fit.
    """
    if needed < _UNCHECKED:
        return
    available = available_bytes()
    if available is not None and needed + _OVERHEAD > available:
        raise InsufficientMemoryError(
            f"{what} needs about {_gib(needed + _OVERHEAD)} of memory but {_gib(available)} is available; {instead}",
            needed + _OVERHEAD,
            available,
        )


def _gib(nbytes):
    return f"{nbytes / 2**30:.2f} GiB"
