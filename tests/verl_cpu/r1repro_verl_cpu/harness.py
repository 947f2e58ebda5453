"""Run a paper preset through verl on CPU from a test, and read back what verl logged.

`run_smoke(paper, overrides, smoke)` runs the real launch path
(``python -m r1repro.cli reproduce <paper> --scale paper +verl.cpu_smoke=...``) in a subprocess
with a hard timeout (verl hangs, rather than fails, when Ray cannot place a worker) and returns
a `SmokeRun`: return code, output, the run folder, and verl's console metrics per step.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_STEP = re.compile(r"\bstep:(\d+) - (.*)$")
_NUMBER = re.compile(r"^(?:np\.\w+\()?(-?[0-9.eE+-]+|nan|inf|-inf)\)?$")


def parse_metrics(text: str) -> dict[int, dict[str, float]]:
    """verl's console logger lines (``step:N - key:value - ...``) -> {step: {key: value}}."""
    steps: dict[int, dict[str, float]] = {}
    for line in text.splitlines():
        m = _STEP.search(line)
        if not m:
            continue
        values: dict[str, float] = {}
        for item in m.group(2).split(" - "):
            key, sep, raw = item.strip().rpartition(":")
            num = _NUMBER.match(raw.strip())
            if sep and num:
                try:
                    values[key] = float(num.group(1))
                except ValueError:
                    pass
        steps.setdefault(int(m.group(1)), {}).update(values)
    return steps


@dataclass
class SmokeRun:
    returncode: int
    output: str
    out_dir: Path | None
    metrics: dict[int, dict[str, float]] = field(default_factory=dict)

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-n:])

    def checkpoint(self, step: int) -> Path | None:
        if self.out_dir is None:
            return None
        path = self.out_dir / "checkpoints" / f"global_step_{step}" / "actor"
        return path if path.is_dir() else None

    def keys(self) -> set[str]:
        return {k for m in self.metrics.values() for k in m}


def smoke_arg(smoke: dict[str, Any] | None) -> str:
    """``+verl.cpu_smoke=...`` in hydra's override grammar."""
    from r1repro.verl_bridge.config import hydra_value

    return "+verl.cpu_smoke=" + (hydra_value(smoke) if smoke else "true")


PORT_RACE = "EADDRINUSE"
"""What torch's rendezvous prints when the master port verl picked (free when it looked) was taken
before its TCP store bound it: a race with the machine's other sockets, not a fault of the run."""


def run_smoke(paper: str, overrides: list[str] | None = None, smoke: dict[str, Any] | None = None,
              timeout: float = 600, log: Path | None = None, attempts: int = 2) -> SmokeRun:  # fmt: skip
    """The paper's preset through verl on CPU (see module doc). ``overrides`` are r1repro
    overrides of the preset (``verl.reward=...``); verl overrides go in ``smoke["overrides"]``.
    A run that fails only because its master port was taken meanwhile (`PORT_RACE`) is started
    again, up to ``attempts`` runs in all; any other failure is returned as it is."""
    cmd = [sys.executable, "-m", "r1repro.cli", "reproduce", paper, "--scale", "paper",
           *(overrides or []), smoke_arg(smoke)]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_DEDUP_LOGS": "0", "PYTHONUNBUFFERED": "1"}
    earlier = ""
    for attempt in range(1, max(1, attempts) + 1):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                start_new_session=True)  # fmt: skip
        try:
            output, _ = proc.communicate(timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            rc = -9
            output += f"\n[harness] killed after {timeout:.0f} s"
        if rc == 0 or PORT_RACE not in output or attempt == attempts:
            break
        earlier += output + f"\n[harness] attempt {attempt}: the master port was taken ({PORT_RACE}); again\n"
    if log is not None:
        log.write_text(earlier + output)
    m = re.search(r"# resolved verl config: (\S+)/verl_config\.yaml", output)
    return SmokeRun(rc, output, Path(m.group(1)) if m else None, parse_metrics(output))
