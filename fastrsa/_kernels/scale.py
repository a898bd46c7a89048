"""Powers of two that bring values to unit magnitude.

Multiplying by a power of two is exact wherever the product is a normal
number, so it changes no cosine, correlation, rank or tie: sums, products,
quotients and square roots of scaled values are the scaled results, bit for
bit.  Values far smaller than the largest may underflow when scaled down;
they are then below float64's rounding of the sums they enter.
"""

import math

from ._jit import kernel

_LARGEST_FACTOR = 2.0**1023  # 2**1024 is not a float64


@kernel
def peak(values):
    """The largest magnitude among ``values`` (any shape), in float64."""
    largest = 0.0
    for value in values.flat:
        largest = max(largest, abs(float(value)))
    return largest


@kernel
def unit_scale(largest):
    """The power of two that brings ``largest`` (finite, >= 0) into [0.5, 1);
    for the smallest subnormals, which no float64 factor can bring that far,
    2**1023 (they end above 2**-52).  1.0 for zero."""
    if largest == 0.0:
        return 1.0
    _, exponent = math.frexp(largest)
    return min(math.ldexp(1.0, -exponent), _LARGEST_FACTOR)
