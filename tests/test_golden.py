"""Every result of tests/golden_cases.py, bit for bit as recorded (see there)."""

import json
import warnings

import pytest

import fastrsa

from tests.golden_cases import GOLDEN, cases, record

_RECORDED = json.loads(GOLDEN.read_text())
_CASES = cases()


def test_every_case_is_recorded():
    assert sorted(_CASES) == sorted(_RECORDED)


@pytest.mark.parametrize("name", sorted(_CASES))
def test_result_is_as_recorded(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastrsa.OmittedWarning)
        got = record(_CASES[name]())
    assert got == _RECORDED[name]
