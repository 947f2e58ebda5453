"""Where things live: the monorepo root, the cache, run folders."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def repo_root() -> Path | None:
    """The r1repro monorepo checkout, if the core is installed from one (editable) or run inside one."""
    env = os.environ.get("R1REPRO_ROOT")
    if env:
        return Path(env).resolve()
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for d in (start, *start.parents):
            if (
                (d / "reproductions").is_dir()
                and (d / "plugins").is_dir()
                and (d / "pyproject.toml").is_file()
            ):
                return d
    return None


def cache_dir() -> Path:
    """Cache for tiny models, SFT warm starts and tokenizers (``$R1REPRO_CACHE``)."""
    env = os.environ.get("R1REPRO_CACHE")
    if env:
        path = Path(env)
    else:
        root = repo_root()
        path = (root / ".cache" / "r1repro") if root else Path.home() / ".cache" / "r1repro"
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    env = os.environ.get("R1REPRO_RUNS")
    if env:
        return Path(env)
    root = repo_root()
    return (root / "runs") if root else Path.cwd() / "runs"


def shared_data_dir() -> Path:
    """The project's own small data (tokenizers, fixtures): ``shared_data/`` in the repo,
    or the copy packaged inside the core when installed without the monorepo."""
    root = repo_root()
    if root is not None and (root / "shared_data").is_dir():
        return root / "shared_data"
    return Path(__file__).resolve().parent / "data"
