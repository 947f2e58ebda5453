"""Start-up: importing the core and discovering every plugin, and ``r1repro list``.

Each round is a fresh interpreter (``subprocess``), so the numbers include Python's own
start (~20-40 ms, measured alone as ``python_startup_s`` for reference). Discovery must stay
lazy: no torch, verl, transformers or sympy until an engine or a reward needs them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from r1repro.bench import bench_rounds

TARGET_S = 1.0
HEAVY = ("torch", "verl", "transformers", "sympy", "math_verify", "datasets")
PROBE = (
    "import json, sys, time; t = time.perf_counter(); import r1repro; reg = r1repro.load_plugins(); "
    "dt = time.perf_counter() - t; "
    f"print(json.dumps({{'s': dt, 'plugins': len(reg.plugins), 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))"
)


def _env():
    return {**os.environ, "PYTHONWARNINGS": "ignore"}


def _python_startup_s() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, env=_env())
    return time.perf_counter() - t0


def test_startup_import_and_discovery(benchmark):
    last: dict = {}

    def run():
        out = subprocess.run(
            [sys.executable, "-c", PROBE], capture_output=True, text=True, env=_env(), check=True
        )
        last.update(json.loads(out.stdout.strip().splitlines()[-1]))

    benchmark.group = "startup: import r1repro + plugin discovery (fresh interpreter)"
    benchmark.pedantic(run, rounds=bench_rounds(5), warmup_rounds=1, iterations=1)
    benchmark.extra_info.update(
        {
            "comparison": "startup",
            "side": "r1repro",
            "what": "python -c 'import r1repro; r1repro.load_plugins()'",
            "in_process_s": last["s"],
            "plugins": last["plugins"],
            "heavy_modules_imported": last["heavy"],
            "python_startup_s": _python_startup_s(),
            "target": f"wall time < {TARGET_S} s and no heavy module imported",
        }
    )


def test_startup_cli_list(benchmark):
    exe = shutil.which("r1repro", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("the r1repro console script is not installed next to this interpreter")

    def run():
        subprocess.run([exe, "list"], capture_output=True, text=True, env=_env(), check=True)

    benchmark.group = "startup: `r1repro list` wall time"
    benchmark.pedantic(run, rounds=bench_rounds(5), warmup_rounds=1, iterations=1)
    benchmark.extra_info.update(
        {
            "comparison": "startup",
            "side": "r1repro",
            "what": "r1repro list",
            "target": f"wall time < {TARGET_S} s",
        }
    )
