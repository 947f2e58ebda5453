"""Checks a reproduction passes before anything is trained or written to disk.

Why: a reproduction whose data was missing used to train the arms it could, print "done"
and mark every claim "inconclusive"; a mistyped override used to fail mid-run with a
traceback, after ``runs/<paper>/<run-id>/`` was created. `check_reproduction` composes
the config, builds every arm's engine config (which type-checks the overrides) and checks
that every dataset an arm trains, evaluates or warm-starts on can be found, and raises
`ReproductionNotReady` with one line naming what is wrong and where data was looked for.
"""

from __future__ import annotations

from typing import Any


class ReproductionNotReady(RuntimeError):
    """The reproduction cannot start: bad overrides, or data that cannot be found."""


def compose_checked(config_dir, scale: str, overrides: list[str], profile: str | None = None):
    """`r1repro.repro.run.compose_config`, with hydra / OmegaConf errors as one line."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from r1repro.repro.run import compose_config

    try:
        return compose_config(config_dir, scale, overrides, profile=profile)
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        raise ReproductionNotReady(
            f"bad override in {' '.join(overrides) or '(none)'}: {_one_line(exc)}"
        ) from None


def _one_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    key = getattr(exc, "full_key", None)  # OmegaConf errors know which key was wrong
    where = f" (key {key})" if key else ""
    return f"{type(exc).__name__}{where}: {lines[0] if lines else ''}"


def dataset_uses(ec: Any) -> list[tuple[str, Any, str]]:
    """(role, dataset spec, split) of every dataset one engine config reads."""
    uses = [("train", ec.data.dataset, ec.data.split)]
    if ec.eval.limit:
        uses.append(
            ("eval", ec.eval.dataset if ec.eval.dataset is not None else ec.data.dataset, ec.eval.split)
        )
    sft = ec.model.get("sft") if hasattr(ec.model, "get") else None
    if sft is not None and sft.get("enabled") and sft.get("dataset") is not None:
        uses.append(("sft", sft.dataset, sft.get("split", "sft")))
    return uses


def missing_data(registry, spec: Any, split: str) -> str | None:
    """None if the dataset ``spec`` can provide ``split``, else why not (where it looked)."""
    from r1repro.components import DatasetUnavailable, GeneratedDataset

    ds = registry.build("dataset", spec)
    if isinstance(ds, GeneratedDataset) or not hasattr(ds, "records"):
        return None
    try:
        from r1repro.components import data_dirs

        fname = getattr(ds, "local_files", {}).get(split)
        if fname and any((d / fname).is_file() for d in data_dirs()):
            return None
        ds.records(split)
    except DatasetUnavailable as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a dataset whose loader fails is as missing as an absent file
        return f"dataset '{getattr(ds, 'name', spec)}' split '{split}' could not be read: {_one_line(exc)}"
    return None


def check_reproduction(run) -> None:
    """Raise `ReproductionNotReady` unless every arm's engine config builds and its data exists.

    ``run`` is a `r1repro.repro.run.ReproRun` whose folder need not exist yet."""
    from omegaconf.errors import OmegaConfBaseException

    from r1repro.registry import RegistryError, split_spec

    seed = run.seeds[0] if run.seeds else 0
    checked: dict[tuple[str, str], str | None] = {}
    for arm in run.arms:
        try:
            ec = run.engine_config(arm, seed)
        except (OmegaConfBaseException, ValueError, TypeError) as exc:
            raise ReproductionNotReady(
                f"{run.name}: arm '{arm}' has a bad engine config: {_one_line(exc)}"
            ) from None
        for role, spec, split in dataset_uses(ec):
            try:
                key = (repr(split_spec(spec)), str(split))
            except RegistryError as exc:
                raise ReproductionNotReady(f"{run.name}: arm '{arm}' {role} dataset: {exc}") from None
            if key not in checked:
                checked[key] = missing_data(run.registry, spec, str(split))
            if checked[key]:
                raise ReproductionNotReady(
                    f"{run.name}: arm '{arm}' needs data that is missing ({role}): {checked[key]}"
                )


def check_before_run(name: str, scale: str, cfg: Any, repro: Any, registry: Any) -> None:
    """The call `run_reproduction` makes before creating its run folder (CPU scale)."""
    from pathlib import Path

    from r1repro.repro.run import ReproRun

    if scale != "cpu":
        return
    probe = ReproRun(name=name, scale=scale, cfg=cfg, out_dir=Path("/nonexistent-run-folder"),
                     reproduction=repro, registry=registry, quiet=True)  # fmt: skip
    check_reproduction(probe)
