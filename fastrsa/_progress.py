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
import warnings

import numba
import numpy as np

from . import _tuning

_INTERVAL = 0.5  # seconds between rewrites of the line


def check(progress, name="progress"):
    """``progress`` as given, where it is None, True or False; else a ValueError."""
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise ValueError(f"{name}={progress!r} is not supported; use None (on a terminal, for long calls), True or False")
    return None if progress is None else bool(progress)


def advancing(line, parts):
    """The arrays of ``parts`` (a batch's statistics each), advancing ``line`` by each one's length."""
    for part in parts:
        yield part
        line.advance(len(part))


def wanted(progress, work):
    """Whether to show progress: ``progress`` True or False as given; None:
    where stderr is a terminal and ``work`` (multiply-adds) is large."""
    if progress is None:
        return work >= _tuning.PROGRESS_WORK and getattr(sys.stderr, "isatty", lambda: False)()
    return bool(progress)


class Progress:
    """A progress line for ``total`` units of work (pairs visited, draws made), of ``what``."""

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

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None:
            self.close()
        else:  # (interrupted or failed: what follows starts on a line of its own)
            self.stream.write("\n")
            self.stream.flush()


class LongCallWarning(UserWarning):
    """A call the cost model expects to run long (past
    ``_tuning.LONG_CALL_SECONDS``) without a progress line: how long, and
    how to follow it (``progress=True``) or shorten it."""


def estimate_seconds(stages, threads=None):
    """The time the cost model gives ``stages`` (``_plan.Stage``): each
    stage's multiply-adds at ``_tuning.MULTIPLY_ADDS_PER_SECOND`` or its
    bytes at ``_tuning.BYTES_PER_SECOND``, whichever is longer, those rates
    (of ``_tuning.RATES_THREADS`` threads) scaled to ``threads`` (None:
    Numba's).  Rough, the rates being one machine's: what the progress line
    announces before the work starts; the time left it shows after is
    measured."""
    speed = (threads or numba.get_num_threads()) / _tuning.RATES_THREADS
    flops, moved = _tuning.MULTIPLY_ADDS_PER_SECOND * speed, _tuning.BYTES_PER_SECOND * speed
    return sum(max(stage.flops / flops, stage.bytes_moved / moved) for stage in stages)


def of_draws(progress, work, what, draws, stages, shorter):
    """The progress line of a call's ``draws`` (permutations, resamples):
    announced (``_announced``), then advanced batch by batch; or SILENT."""
    if _announced(progress, work, what, stages, "to see how far it is", shorter):
        return Progress(what, draws)
    return SILENT


def announce(progress, plan, shorter):
    """Before a call that is not a loop of draws (``rsa``), what
    ``of_draws`` says before its draws, where the call is long (its plan's
    work past ``_tuning.PROGRESS_WORK``, checked first, so that small calls
    format nothing).  Binned ranks then draw their own progress line."""
    if progress is not False and plan.work >= _tuning.PROGRESS_WORK:
        _announced(progress, plan.work, plan.what, plan.stages, "to be told before it starts", shorter)


def _announced(progress, work, what, stages, follow, shorter):
    """Where progress is ``wanted``: a line saying what the call does and
    the cost model's time (``estimate_seconds(stages)``), and True.  Else
    False, with a ``LongCallWarning`` first where ``progress`` is None and
    that time passes ``_tuning.LONG_CALL_SECONDS`` (``follow``: what
    progress=True would give; ``shorter``: how to shorten the call)."""
    seconds = estimate_seconds(stages)
    if wanted(progress, work):
        sys.stderr.write(f"{what}: about {_clock(seconds)} by the cost model\n")
        return True
    if progress is None and seconds >= _tuning.LONG_CALL_SECONDS:
        warnings.warn(
            f"{what} will take about {_clock(seconds)} (h:mm:ss, by the cost model); pass progress=True {follow}, "
            f"or {shorter}", LongCallWarning, stacklevel=_outside(),
        )  # fmt: skip
    return False


def _outside():
    """The ``stacklevel`` of a warning that names the first caller outside fastrsa."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "fastrsa":
        frame, level = frame.f_back, level + 1
    return level


class _Silent:
    """A Progress that shows nothing."""

    total = 0  # (added to where a call's work grows; never read)

    def advance(self, amount):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


SILENT = _Silent()


def _clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
