"""Launching a reproduction at paper scale on verl.

Steps: export the preset's datasets to verl parquet (``data/train.parquet``,
``data/val.parquet`` under ``runs/<paper>/<run-id>/``), build the hydra overrides, compose
and validate them against the installed verl's schema, then either print everything
(``dry_run``) or run ``python -m verl.trainer.main_ppo <overrides>``. Plugins reach every
Ray worker through verl's ``verl.plugins`` entry point (`r1repro.verl_bridge.worker_init`).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from r1repro.paths import runs_dir


def _export(
    preset, key: str, limit_key: str, split: str, out: Path, registry, template, log
) -> tuple[Path, str]:
    from r1repro.components import DatasetUnavailable
    from r1repro.verl_bridge.export import write_parquet

    spec = preset.get(key)
    path = out / "data" / f"{split}.parquet"
    if spec is None:
        return path, "not configured"
    ds = registry.build("dataset", spec)
    limit = preset.get(limit_key)
    try:
        rows = ds.load(preset.get(f"{key}_split", split if split != "val" else "test"), limit=limit,
                       seed=preset.get("data_seed"))  # fmt: skip
    except DatasetUnavailable as exc:
        return path, f"NOT EXPORTED ({exc})"
    write_parquet(rows, template, path, split=split)
    return path, f"{len(rows)} rows from {getattr(ds, 'hub_id', None) or ds.name}"


def launch_paper_scale(name: str, cfg, reproduction, dry_run: bool = False, registry=None) -> dict[str, Any]:
    from r1repro.registry import get_registry
    from r1repro.verl_bridge import config as vcfg

    registry = registry or get_registry()
    preset = cfg.get("verl")
    if preset is None:
        raise ValueError(
            f"reproduction '{name}' has no paper-scale preset (a 'verl:' section in scale/paper.yaml)"
        )
    out = runs_dir() / name / (time.strftime("%Y%m%d-%H%M%S") + "-paper")
    out.mkdir(parents=True, exist_ok=True)
    template = registry.build("template", preset.get("template", "core.boxed"))
    train_path, train_note = _export(
        preset, "dataset", "train_limit", "train", out, registry, template, print
    )
    val_path, val_note = _export(preset, "val_dataset", "val_limit", "val", out, registry, template, print)
    overrides = vcfg.preset_overrides(preset, str(train_path), str(val_path))
    composed = vcfg.compose(overrides)
    checked = vcfg.validate(composed)
    (out / "verl_config.yaml").write_text(vcfg.to_yaml(composed))
    cmd = [sys.executable, "-m", "verl.trainer.main_ppo", *overrides]
    head = " ".join(shlex.quote(c) for c in cmd[:3])
    printable = " \\\n    ".join([head, *(shlex.quote(c) for c in cmd[3:])])
    print(f"# r1repro paper-scale launch: {name}")
    print(f"# train data: {train_path}  [{train_note}]")
    print(f"# val data:   {val_path}  [{val_note}]")
    print(f"# verl accepted the composed config (validate_config + dataclasses: {', '.join(checked)})")
    print(f"# resolved verl config: {out / 'verl_config.yaml'}")
    if dry_run:
        print(vcfg.to_yaml(composed))
    print(printable)
    if dry_run:
        from r1repro.verl_bridge.fidelity import print_dry_run_table

        print_dry_run_table(name, composed, preset)
    summary = {"paper": name, "scale": "paper", "out_dir": str(out), "command": cmd, "dry_run": dry_run,
               "validated_sections": checked}  # fmt: skip
    if dry_run:
        return summary
    try:
        import torch

        gpus = torch.cuda.device_count()
    except Exception:  # noqa: BLE001
        gpus = 0
    if gpus == 0:
        raise RuntimeError(
            "scale=paper launches verl, which needs GPUs; none found. Use DRY_RUN=1 to inspect."
        )
    env = {**os.environ, "R1REPRO_ROOT": str(Path.cwd())}
    rc = subprocess.call(cmd, env=env, cwd=out)
    summary["returncode"] = rc
    if rc != 0:
        raise RuntimeError(f"verl exited with status {rc}")
    return summary
