"""The `Reproduction` component: one paper's experiment.

A reproduction lives in two places. ``reproductions/<paper>/`` holds the hydra configs
(``config.yaml`` with the arms and seeds, ``scale/cpu.yaml``, ``scale/paper.yaml``) and
``claims.yaml``; the plugin registers a `Reproduction` subclass whose ``run`` performs the
experiment through a `ReproRun` (train arms, record measurements, add tables and plots).
The default ``run`` trains every arm for every seed and records the standard measurements;
most papers only add a table or a derived measurement.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from r1repro.repro.run import ReproRun


class Reproduction:
    name: str = ""
    title: ClassVar[str] = ""
    arxiv: ClassVar[str] = ""
    description: ClassVar[str] = ""
    config_dir: ClassVar[str | None] = None
    """Folder of config.yaml / claims.yaml; default: <repo>/reproductions/<name>."""
    derived_arms: ClassVar[tuple[str, ...]] = ()
    """Pseudo-arms that ``run`` records measurements under besides the trained arms (e.g. a
    summary over all arms); claims may name them."""

    def __init__(self, name: str = "") -> None:
        if name:
            self.name = name

    def resolve_config_dir(self) -> Path:
        from r1repro.paths import repo_root

        if self.config_dir:
            return Path(self.config_dir)
        root = repo_root()
        if root is None:
            raise FileNotFoundError(
                f"reproduction '{self.name}': its configs live in the monorepo's reproductions/{self.name}/; "
                "run from a checkout of r1repro or set R1REPRO_ROOT"
            )
        return root / "reproductions" / self.name

    def run(self, run: ReproRun) -> None:
        """Train every arm for every seed; record the standard measurements."""
        run.train_arms()

    def report_notes(self, run: ReproRun) -> list[str]:
        """Extra lines for the report's notes section (deviations from the paper, caveats)."""
        return []
