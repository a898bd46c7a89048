"""One plan per call: which path each stage takes, what it costs, whether it fits.

Every public entry point is written as a planner and an executor.  The
planner checks the arguments as the call would, decides every path (the Gram
identity or the pairs, tiles or row blocks, which permutation kernel, one
thread or all) and adds up the memory the call will add from the size
functions that sit beside each allocation (``_pairs.pairs_bytes``,
``_correlation.rank_bytes``, ``_gram.memory_bytes``, the inference batches in
``stats``).  The executor reads the plan and decides nothing.
``fastrsa.plan(function, *args, **kwargs)`` returns the plan without running it.
"""

import inspect
from dataclasses import dataclass

from . import _memory, _threads


class Available:
    """The memory this process can get (``_memory.available_bytes``), read
    at most once per call: the planner and its plan share one."""

    def __init__(self):
        self._read = False
        self._bytes = None

    def __call__(self):
        if not self._read:
            self._bytes, self._read = _memory.available_bytes(), True
        return self._bytes

    def fit(self, needed):
        """Whether ``needed`` bytes fit (small needs without reading)."""
        # Estimates below _memory._UNCHECKED are not checked, and the system's figures not read.
        return needed < _memory._UNCHECKED or _memory.fits_in(needed, self())


# name -> (public function, planner); the planner takes the public function's
# arguments, all of them, in its order (fastrsa.plan fills in the defaults),
# and returns a Plan whose execute() is the call.
_PLANNERS = {}


def planner(public):
    """Register the decorated planner as the one of ``public`` (a public
    entry point), under its name."""

    def register(plan_function):
        _PLANNERS[public.__name__] = (public, plan_function)
        return plan_function

    return register


@dataclass(frozen=True)
class Stage:
    """One step of a call: what it makes (``name``), how (``path``), the
    memory it adds at its peak (beyond what the call already holds from the
    stages before it), and its cost model (docs/performance.md): multiply-adds
    (``flops``) and bytes read and written (``bytes_moved``)."""

    name: str
    path: str
    memory_bytes: int = 0
    flops: int = 0
    bytes_moved: int = 0

    def __str__(self):
        return f"{self.name}: {self.path}"


class Plan:
    """What a call will do, before it does it: ``fastrsa.plan(...)``.

    Attributes
    ----------
    function : str
        The public function planned.
    stages : tuple of Stage
        Each step, in order, with its path and costs (a planner may give
        a function that returns them, called when they are first read).
    path : str
        The stages' paths as one line of text.
    memory_bytes : int
        The memory the call will add at its peak (the inputs it is given are
        not counted; copies it makes of them are).
    fits : bool
        Whether that fits in the memory this process can get now
        (``available_bytes``; small calls fit without reading it).
    flops, bytes_moved : int
        The stages' cost models added up (docs/performance.md).
    threads : int
        The threads the call runs on: 1 below the small-call threshold
        (docs/performance.md, "Small calls"), else Numba's thread count.
    alternatives : tuple of str
        What would fit, where this does not (also said by the
        ``InsufficientMemoryError`` the call raises).
    choices : dict
        The decisions the call's stages read (a route, tile sides, a
        kernel), named as the planner of ``function`` documents them.
    """

    def __init__(self, function, stages, memory_bytes, what, alternatives, work, execute, choices=None, available=None):
        self.function = function
        # A callable is described only when asked: a small call runs without
        # formatting the text of its stages.
        self._stages = stages
        self.memory_bytes = int(memory_bytes)
        self.what = what
        self._alternatives = alternatives  # (a callable, as stages may be)
        self.work = work
        self.choices = dict(choices or {})
        self._execute = execute
        self._available = available or Available()

    @property
    def stages(self):
        if callable(self._stages):
            self._stages = tuple(self._stages())
        return tuple(self._stages)

    @property
    def alternatives(self):
        if callable(self._alternatives):
            self._alternatives = self._alternatives()
        return tuple(self._alternatives)

    @property
    def path(self):
        return "; ".join(str(stage) for stage in self.stages)

    @property
    def flops(self):
        return sum(stage.flops for stage in self.stages)

    @property
    def bytes_moved(self):
        return sum(stage.bytes_moved for stage in self.stages)

    @property
    def threads(self):
        return _threads.threads_of(self.work)

    @property
    def available_bytes(self):
        """The memory this process can get, read once (None where unknown)."""
        return self._available()

    @property
    def fits(self):
        return self._available.fit(self.memory_bytes)

    def require(self):
        """Raise :class:`fastrsa.InsufficientMemoryError` unless the call fits."""
        if not self.fits:
            _memory.refuse(self.memory_bytes, self.available_bytes, self.what, "; or ".join(self.alternatives))

    def execute(self):
        """Run the call as planned: check its memory, then its stages on
        ``threads`` threads."""
        self.require()
        with _threads.threads_for(self.work):
            return self._execute()

    def __str__(self):
        lines = [f"{self.function}: {self.what}"]
        lines += [f"  {stage}" for stage in self.stages]
        available = self.available_bytes
        room = "" if available is None else f" of {_gib(available)} available"
        lines.append(
            f"  memory {_mib(self.memory_bytes)}{room} ({'fits' if self.fits else 'does not fit'}); "
            f"{self.flops:.3g} multiply-adds, {self.bytes_moved:.3g} bytes moved; "
            f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        )
        if not self.fits:
            lines += [f"  instead: {alternative}" for alternative in self.alternatives]
        return "\n".join(lines)

    def __repr__(self):
        return f"<Plan {self.function}: {self.path}; {_mib(self.memory_bytes)}>"


def _mib(nbytes):
    return f"{nbytes / 2**20:,.1f} MiB"


def _gib(nbytes):
    return f"{nbytes / 2**30:,.2f} GiB"


def plan(function, *args, **kwargs):
    """The plan of a call, without running it.

    Parameters
    ----------
    function : callable or str
        A public entry point (``fastrsa.rsa``, ``rsm``, ``rdm``, ``compare``,
        ``split_half``, ``permutation_test``, ``mantel``, ``bootstrap_ci``)
        or its name.
    *args, **kwargs
        That function's arguments, as you would call it.

    Returns
    -------
    Plan
        ``path`` (the path each stage takes), ``memory_bytes`` (what the
        call adds), ``fits``, ``flops``, ``bytes_moved``, ``threads`` and
        ``alternatives``; ``print(plan)`` shows them.  The input is checked
        as the call would check it (the same errors), and nothing else is
        computed.

    Examples
    --------
    >>> import numpy as np, fastrsa
    >>> X = np.random.default_rng(0).standard_normal((20_000, 300))
    >>> p = fastrsa.plan(fastrsa.rsa, X, X[:, :100])
    >>> p.path.split(":")[0], p.fits
    ('score', True)
    >>> fastrsa.plan("rsa", X, X[:, :100], method="spearman").memory_bytes > 2**32
    True
    """
    name = function if isinstance(function, str) else getattr(function, "__name__", None)
    if name not in _PLANNERS or not (isinstance(function, str) or _PLANNERS[name][0] is function):
        raise ValueError(
            f"function={function!r} has no plan; use one of fastrsa's entry points: {', '.join(sorted(_PLANNERS))}"
            f" (the function or its name)"
        )
    public, plan_function = _PLANNERS[name]
    bound = inspect.signature(public).bind(*args, **kwargs)
    bound.apply_defaults()
    return plan_function(*bound.args, **bound.kwargs)
