"""One description of each metric, read wherever a metric changes what is done.

A metric is how two items of one space are compared.  Every place that used
to test a metric's name asks its row of this table instead, so a new metric
is one new row (and the kernels it needs).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """How a metric's condensed vector is made and finished.

    ``similarity``: cosine and correlation give similarities in [-1, 1]
    (``rsm``), whose dissimilarities are 1 - similarity (``rdm``, pdist's);
    the Euclidean metrics give distances only, computed from squared
    distances, always in float64 (their range and digits outgrow float32).
    ``centred``: the rows are centred before their cosines (correlation).
    ``root``: the squared distances get a square root at the end (euclidean).
    """

    name: str
    similarity: bool
    centred: bool = False
    root: bool = False

    @property
    def float64_pairs(self):
        """Whether the pairs are float64 whatever the input's dtype."""
        return not self.similarity

    @property
    def rounding_floor(self):
        """The least scale at which the pairs rsa correlates are rounded:
        pdist's 1 - cosine is rounded at the scale of 1 whatever its mean
        (all cosines near 1 give distances near 0, all of them rounding
        noise); distances at their own scale."""
        return 1.0 if self.similarity else 0.0


METRICS = {
    metric.name: metric
    for metric in (
        Metric("cosine", similarity=True),
        Metric("correlation", similarity=True, centred=True),
        Metric("euclidean", similarity=False, root=True),
        Metric("sqeuclidean", similarity=False),
    )
}
SIMILARITY_METRICS = tuple(name for name, metric in METRICS.items() if metric.similarity)
DISTANCE_METRICS = tuple(METRICS)


def of(name):
    """The :class:`Metric` of a checked metric name."""
    return METRICS[name]
