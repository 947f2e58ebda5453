"""r1repro's own tests (a package so that ``python -m tests.benchmarks.summarize`` resolves here, not to
verl's top-level ``tests`` package in site-packages)."""
