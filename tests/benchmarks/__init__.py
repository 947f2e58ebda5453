"""Speed benchmarks against TRL and math-verify (``make bench``; skipped by ``make test``)."""
