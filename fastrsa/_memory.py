"""Memory estimates, checked before any large allocation.

Each path's estimate counts the arrays it allocates at its peak (the inputs
the caller already holds are not counted).  Where the estimate exceeds the
memory this process can still get, the call raises
:class:`InsufficientMemoryError` before allocating anything, instead of failing
deep inside a kernel, being killed by a container's limit, or pushing the
machine into swap.

What the process can still get is the tightest of the limits that apply to
it: the memory the system has available (``MemAvailable``), the address-space
and data-segment limits (``ulimit -v``, ``ulimit -d``) less what the process
has mapped, and the memory limit of its cgroup or any cgroup above it (cgroup
v2 ``memory.max``, v1 ``memory.limit_in_bytes``; containers and batch jobs
set these) less what the cgroup uses.  Each is read where it can be; one
that is missing or unreadable is left out.
"""

import os

try:
    import resource
except ImportError:  # not on Windows
    resource = None

# Small allocations (one BLAS block, per-bucket copies) that every path adds.
_OVERHEAD = 64 << 20
# Estimates below this are not checked: reading the system's figures costs
# more than a small call's whole work, and any machine has this much.
_UNCHECKED = 256 << 20

# Where the figures are read from (tests point these at files of their own).
_MEMINFO = "/proc/meminfo"
_STATUS = "/proc/self/status"
_CGROUP = "/proc/self/cgroup"
_CGROUP_ROOT = "/sys/fs/cgroup"
# A limit at least this large is no limit: "unlimited" as cgroup v1 and some
# rlimits spell it (2**63 less a page).
_NO_LIMIT = 1 << 60

# The process limits: resource name, the /proc/self/status field of what it
# counts (in kB), and how a message names it.
_RLIMITS = (
    ("RLIMIT_AS", "VmSize", "the address-space limit, ulimit -v"),
    ("RLIMIT_DATA", "VmData", "the data-segment limit, ulimit -d"),
)
# cgroup v2 and v1: the limit's file, the usage's, and the memory.stat field
# of page cache the kernel reclaims before it reaches the limit (usage less
# that is the "working set" docker and the kubelet report).
_CGROUP_V2 = ("memory.max", "memory.current", "inactive_file")
_CGROUP_V1 = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")


class InsufficientMemoryError(MemoryError):
    """A call would need more memory than this process can get.

    ``needed`` and ``available`` are in bytes; ``limit`` names the limit
    that bounds ``available`` (None where not known).
    """

    def __init__(self, message, needed, available, limit=None):
        super().__init__(message)
        self.needed = needed
        self.available = available
        self.limit = limit

    def __reduce__(self):  # whole through pickle, as a process pool returns it
        return type(self), (str(self), self.needed, self.available, self.limit)


class Available(int):
    """A number of bytes that remembers which limit it is (``limit``)."""

    def __new__(cls, nbytes, limit):
        self = super().__new__(cls, nbytes)
        self.limit = limit
        return self


def available_bytes():
    """Memory this process can still allocate, in bytes: the smallest of
    :func:`limits`, as an :class:`Available` (an ``int``) whose ``limit``
    names it, or ``None`` where no limit can be read."""
    found = limits()
    if not found:
        return None
    nbytes, limit = min(found)
    return Available(max(nbytes, 0), limit)


def limits():
    """Each limit on this process's memory that can be read, as
    ``(bytes left, what the limit is)``."""
    return _system_figures() + _rlimit_figures() + _cgroup_figures()


def _system_figures():
    """The memory the system can give without swapping (``MemAvailable`` on
    Linux; free pages elsewhere)."""
    try:
        with open(_MEMINFO) as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return [(int(line.split()[1]) * 1024, "the system's available memory, MemAvailable")]
    except (OSError, ValueError, IndexError):
        pass
    try:
        return [(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "the system's free memory")]
    except (ValueError, OSError, AttributeError):
        return []


def _status_fields(names):
    """The fields ``names`` of /proc/self/status, in bytes (those it has)."""
    found = {}
    try:
        with open(_STATUS) as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in names:
                    number, unit = value.split()
                    if unit == "kB":
                        found[key] = int(number) * 1024
    except (OSError, ValueError):
        pass
    return found


def _rlimit_figures():
    """The soft address-space and data-segment limits, less what this process
    has mapped (the limit itself where that cannot be read)."""
    if resource is None:
        return []
    set_limits = []
    for name, field, what in _RLIMITS:
        try:
            soft, _ = resource.getrlimit(getattr(resource, name))
        except (AttributeError, ValueError, OSError):
            continue
        if soft != resource.RLIM_INFINITY and 0 <= soft < _NO_LIMIT:
            set_limits.append((soft, field, what))
    if not set_limits:
        return []
    used = _status_fields({field for _, field, _ in set_limits})
    return [(soft - used.get(field, 0), what) for soft, field, what in set_limits]


def _read_number(path):
    """The integer a one-value file holds, or None ("max", missing, odd)."""
    try:
        with open(path) as file:
            return int(file.read().strip())
    except (OSError, ValueError):
        return None


def _stat_field(path, name):
    """Field ``name`` of a cgroup's memory.stat, or 0."""
    try:
        with open(path) as stat:
            for line in stat:
                key, _, value = line.partition(" ")
                if key == name:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _cgroup_figures():
    """The memory limit of this process's cgroup and of every cgroup above it
    (cgroup v2, and v1's memory controller), each less what its cgroup uses."""
    try:
        with open(_CGROUP) as cgroups:
            lines = cgroups.read().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        hierarchy, controllers, path = fields
        if hierarchy == "0" and controllers == "":
            found += _cgroup_tree(_CGROUP_ROOT, path, _CGROUP_V2)
        elif "memory" in controllers.split(","):
            found += _cgroup_tree(os.path.join(_CGROUP_ROOT, "memory"), path, _CGROUP_V1)
    return found


def _cgroup_tree(root, path, files):
    """Limits of the cgroup at ``path`` below the mount ``root`` and of its
    ancestors up to ``root``.  A cgroup the mount does not show (a container
    sees its own cgroup as the root) is skipped, and so is one without a
    limit."""
    limit_file, usage_file, reclaimable = files
    parts = [part for part in path.split("/") if part and part != "."]
    if ".." in parts:  # outside this namespace's view: only the root is ours
        parts = []
    found = []
    for depth in range(len(parts), -1, -1):
        directory = os.path.join(root, *parts[:depth])
        limit = _read_number(os.path.join(directory, limit_file))
        if limit is None or not 0 <= limit < _NO_LIMIT:
            continue
        usage = _read_number(os.path.join(directory, usage_file)) or 0
        working = max(usage - _stat_field(os.path.join(directory, "memory.stat"), reclaimable), 0)
        name = "/" + "/".join(parts[:depth])
        found.append((limit - working, f"the memory limit of cgroup {name}, {limit_file}"))
    return found


def fits(needed):
    """Whether ``needed`` bytes (plus small buffers) are available."""
    return needed < _UNCHECKED or fits_in(needed, available_bytes())


def fits_in(needed, available):
    """Whether ``needed`` bytes (plus small buffers) fit in ``available``
    (``available_bytes()``; None, unknown, fits)."""
    return available is None or needed + _OVERHEAD <= available


def require(needed, what, instead):
    """Raise :class:`InsufficientMemoryError` unless ``needed`` bytes fit.

    ``what`` names the computation, ``instead`` says what would fit.
    """
    if needed < _UNCHECKED:
        return
    available = available_bytes()
    if not fits_in(needed, available):
        refuse(needed, available, what, instead)


def refuse(needed, available, what, instead):
    """Raise the :class:`InsufficientMemoryError` of ``needed`` bytes
    against ``available`` (``available_bytes()``)."""
    limit = getattr(available, "limit", None)
    bound = f" ({limit})" if limit else ""
    raise InsufficientMemoryError(
        f"{what} needs about {_gib(needed + _OVERHEAD)} of memory but {_gib(available)} is available{bound};"
        f" {instead}",
        needed + _OVERHEAD,
        int(available),
        limit,
    )


def _gib(nbytes):
    return f"{nbytes / 2**30:.2f} GiB"
