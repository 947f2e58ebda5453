"""Benchmarks set-up: the machine facts in the JSON, and the TinyV plugin's verifier on the path.

Every test here uses pytest-benchmark's ``benchmark`` fixture, so ``make test`` (which
passes ``--benchmark-skip``) skips them all at collection; ``make bench`` runs them with
``--benchmark-only``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    """Create the folder of ``--benchmark-json`` (``runs/bench/`` does not exist in a fresh checkout)."""
    target = config.getoption("benchmark_json", default=None)
    if target:
        Path(str(target)).parent.mkdir(parents=True, exist_ok=True)


def pytest_benchmark_update_machine_info(config, machine_info):
    from r1repro.bench import machine_info as facts

    machine_info["r1repro"] = facts()


def pytest_benchmark_update_json(config, benchmarks, output_json):
    output_json["r1repro_command"] = " ".join(["python -m pytest", *sys.argv[1:]])


@pytest.fixture(scope="session", autouse=True)
def _tinyv_verifier_importable():
    """The TinyV plugin ships the project's rule-based math verifier; if the plugin is not
    pip-installed in this environment, use it from the checkout (benchmarks only)."""
    if (
        importlib.util.find_spec("r1repro_tinyv") is None
        and (REPO / "plugins" / "tinyv" / "r1repro_tinyv").is_dir()
    ):
        sys.path.insert(0, str(REPO / "plugins" / "tinyv"))


@pytest.fixture(scope="session")
def bench_registry():
    from r1repro.registry import load_plugins

    return load_plugins()
