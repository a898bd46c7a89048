"""Every result of tests/golden_cases.py, bit for bit as recorded (see there).

The results are computed in a child process with OpenBLAS's Haswell kernel
(``OPENBLAS_CORETYPE=Haswell``, as they were recorded): OpenBLAS picks its
kernel by the CPU, and the machines these tests run on differ (AVX-512 Intel
cores take the SkylakeX kernel, AMD cores Haswell's), and BLAS products move
in their last bits with the kernel.  The recording checks fastrsa's own
code, which must not move a bit; the kernel is the same on every machine so
that it can.  The rest of the suite runs with the environment as it is."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.golden_cases import GOLDEN, KERNEL, cases

_RECORDED = json.loads(GOLDEN.read_text())
_CASES = cases()
_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def computed():
    env = dict(os.environ, OPENBLAS_CORETYPE=KERNEL)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env.pop(name, None)  # (the machine's own thread counts, as recorded)
    code = "import json; from tests.golden_cases import results; print(json.dumps(results()))"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=_ROOT, timeout=600)
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout.strip().splitlines()[-1])


def test_every_case_is_recorded():
    assert sorted(_CASES) == sorted(_RECORDED)


@pytest.mark.parametrize("name", sorted(_CASES))
def test_result_is_as_recorded(name, computed):
    assert computed[name] == _RECORDED[name]
