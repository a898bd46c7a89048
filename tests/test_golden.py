"""Every result of tests/golden_cases.py, bit for bit as recorded (see there).

The results are computed in a child process with OpenBLAS's Haswell kernel
(``OPENBLAS_CORETYPE=Haswell``, as they were recorded): OpenBLAS picks its
kernel by the CPU, and the machines these tests run on differ (AVX-512 Intel
cores take the SkylakeX kernel, AMD cores Haswell's), and BLAS products move
in their last bits with the kernel.  fastrsa's own tile products move with
the CPU's vector unit (AVX-512 or AVX2): they are recorded for each, and the
child's layout picks the record (tests/golden_cases.py).  The recording
checks fastrsa's own code, which must not move a bit.  The rest of the suite
runs with the environment as it is."""

import json

import pytest

from tests.golden_cases import GOLDEN, cases, child

_RECORDED = json.loads(GOLDEN.read_text())
_CASES = cases()


@pytest.fixture(scope="module")
def computed():
    found = child()
    assert found["fingerprint"] in _RECORDED, (
        f"no results recorded for this CPU's vector layout {found['fingerprint']} (recorded: {sorted(_RECORDED)}); "
        "record them on such a CPU with: python -m tests.golden_cases --write"
    )
    return found


def test_every_case_is_recorded_for_every_layout():
    assert _RECORDED
    for results in _RECORDED.values():
        assert sorted(_CASES) == sorted(results)


@pytest.mark.parametrize("name", sorted(_CASES))
def test_result_is_as_recorded(name, computed):
    assert computed["results"][name] == _RECORDED[computed["fingerprint"]][name]
