"""Progress on stderr for long calls.

A call whose plan says it will take a while reports how far it is, on one
line of stderr rewritten in place: what it does, the share done, and the
time left from the rate so far.  Shown where ``progress=True``, or by default
(``progress=None``) where stderr is a terminal and the work is large (past
``_tuning.PROGRESS_WORK`` multiply-adds); never with ``progress=False``.  The
line is rewritten at most every ``_INTERVAL`` seconds, so it costs nothing
the call would notice.
"""

import sys
import time

from . import _tuning

_INTERVAL = 0.5  # seconds between rewrites of the line


def wanted(progress, work):
    """Whether to show progress: ``progress`` True or False as given; None:
    where stderr is a terminal and ``work`` (multiply-adds) is large."""
    if progress is None:
        return work >= _tuning.PROGRESS_WORK and getattr(sys.stderr, "isatty", lambda: False)()
    return bool(progress)


class Progress:
    """A progress line for ``total`` units of work (pairs visited), of ``what``."""

    def __init__(self, what, total, stream=None):
        self.what, self.total, self.done = what, max(int(total), 1), 0
        self.stream = stream or sys.stderr
        self.start = self.shown = time.perf_counter()
        self._write()

    def advance(self, amount):
        self.done = min(self.total, self.done + int(amount))
        now = time.perf_counter()
        if now - self.shown >= _INTERVAL:
            self.shown = now
            self._write()

    def _write(self, end=""):
        elapsed = time.perf_counter() - self.start
        share = self.done / self.total
        left = f", {_clock(elapsed * (1 - share) / share)} left" if 0 < share < 1 else ""
        self.stream.write(f"\r{self.what}: {share:6.1%} done, {_clock(elapsed)} so far{left}   {end}")
        self.stream.flush()

    def close(self):
        self.done = self.total
        self._write(end="\n")


class _Silent:
    """A Progress that shows nothing."""

    total = 0  # (added to where a call's work grows; never read)

    def advance(self, amount):
        pass

    def close(self):
        pass


SILENT = _Silent()


def _clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
