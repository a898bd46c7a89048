"""fastrsa's benchmarks: a pytest-benchmark suite (``pytest benchmarks``) and
the report that writes docs/benchmarks.md (``python -m benchmarks.report``).
Neither is part of the default test run."""
