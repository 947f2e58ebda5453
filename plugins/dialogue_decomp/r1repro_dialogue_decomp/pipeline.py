"""One seed's reward-learning pipeline: sessions -> turn labels -> r_theta per label source.

Sources (the derived arms of the reproduction):

* ``decomp_mm``   the decomposer with listener cues (Multimodal-LLM-GELI);
* ``decomp_text`` the decomposer on the transcript only (LLM-GELI);
* ``geli``        GELI's regression of summed turn predictions onto the session score;
* ``uniform``     the RRD-style uniform split R / T.

Each source's r_theta is scored on held-out sessions by the within-session Pearson r of its turn
predictions with the planted turn qualities (``rm_turn_corr``, one item per session); the
decomposer's own labels are scored the same way on the training sessions (``label_corr``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from r1repro_dialogue_decomp import rm as rmod
from r1repro_dialogue_decomp.decomposer import Decomposer
from r1repro_dialogue_decomp.task import Session, WorldConfig, make_sessions

SOURCES = ("decomp_mm", "decomp_text", "geli", "uniform")
DECOMPOSERS = {"decomp_mm": True, "decomp_text": False}  # source -> multimodal


@dataclass
class SeedResult:
    models: dict[str, rmod.LinearRM] = field(default_factory=dict)
    rm_corr: dict[str, dict[str, float]] = field(default_factory=dict)  # source -> session -> r
    label_corr: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # source -> session -> why
    train: list[Session] = field(default_factory=list)
    test: list[Session] = field(default_factory=list)


def turn_labels(source: str, sessions: list[Session], judge: Any, renormalise: str,
                out: SeedResult) -> dict[str, list[float]]:  # fmt: skip
    """Per-session turn labels of a label source (sessions whose decomposition failed are absent)."""
    if source in DECOMPOSERS:
        dec = Decomposer(judge, multimodal=DECOMPOSERS[source], renormalise=renormalise)
        result = dec.decompose(sessions)
        out.errors[source] = result.errors
        return result.labels
    if source == "uniform":
        return {s.id: rmod.uniform_labels(s) for s in sessions}
    raise ValueError(f"no per-turn labels for source {source!r}")


def run_seed(seed: int, cfg: dict[str, Any]) -> SeedResult:
    """Generate the seed's sessions, label them, fit every source's r_theta, score them."""
    world = WorldConfig(**(cfg.get("world") or {}))
    out = SeedResult(train=make_sessions(int(cfg["train_sessions"]), seed, world, "train"),
                     test=make_sessions(int(cfg["test_sessions"]), seed, world, "test"))  # fmt: skip
    penalty = float(cfg["ridge_penalty"])
    by_id = {s.id: s for s in out.train}
    for source in cfg.get("sources") or SOURCES:
        if source == "geli":
            out.models[source] = rmod.fit_session_rm(out.train, penalty)
        else:
            labels = turn_labels(source, out.train, cfg["judge"], str(cfg.get("renormalise", "shift")), out)
            if not labels:
                raise RuntimeError(f"{source}: the decomposer failed on every session "
                                   f"(first error: {next(iter(out.errors.get(source, {}).values()), '?')})")  # fmt: skip
            out.label_corr[source] = rmod.within_session_corr([by_id[k] for k in labels], labels)
            texts = [t.speaker for k in labels for t in by_id[k].turns]
            ys = [y for k in labels for y in labels[k]]
            out.models[source] = rmod.fit_turn_rm(texts, ys, penalty, source)
        preds = {s.id: out.models[source].predict_many([t.speaker for t in s.turns]) for s in out.test}
        out.rm_corr[source] = rmod.within_session_corr(out.test, preds)
    return out
