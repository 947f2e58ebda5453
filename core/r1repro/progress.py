"""Progress bars that are pleasant in a terminal and quiet in logs (CI, pipes)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any


def bar(iterable: Iterable[Any], desc: str = "", disable: bool = False, total: int | None = None):
    if disable or os.environ.get("R1REPRO_NO_PROGRESS"):
        return iterable
    from tqdm.auto import tqdm

    tty = sys.stderr.isatty()
    return tqdm(iterable, desc=desc, total=total, dynamic_ncols=True, leave=tty,
                mininterval=0.5 if tty else 30.0, maxinterval=60.0)  # fmt: skip
