"""Imported by verl in every process that imports verl (``verl.plugins`` entry point).

Loads the r1repro plugins and registers their estimators and policy losses into verl's
registries, and the ``r1repro_sync`` trainer into verl's v1 trainer registry, so that
``algorithm.adv_estimator=<plugin estimator>`` and friends resolve in the TaskRunner and in
every Ray worker. Failures are logged, never raised: verl must keep working.
"""

from __future__ import annotations

import logging

log = logging.getLogger("r1repro.verl")


def register_all() -> list[str]:
    from r1repro.algos import ensure_registered
    from r1repro.registry import load_plugins

    reg = load_plugins()
    names = ensure_registered(reg)
    try:
        from r1repro.verl_bridge.trainer import register_trainer

        register_trainer()
    except Exception as exc:  # noqa: BLE001 - the v1 trainer may be unavailable on this install
        # A warning, not debug: otherwise the only symptom is verl's "Unknown trainer 'r1repro_sync'".
        log.warning("r1repro: trainer 'r1repro_sync' not registered (%s: %s)", type(exc).__name__, exc)
    for err in reg.errors:
        log.warning("r1repro: %s", err)
    return names


try:
    register_all()
except Exception as _exc:  # noqa: BLE001
    log.warning("r1repro plugins could not be registered into verl: %s", _exc)
