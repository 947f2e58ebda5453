"""The MoT experiment at CPU scale: self-evolving training with all three modalities vs one.

Per seed (the seed replicates the whole pipeline: warm start, seed problems, sampling, SFT, vote):

1. **warm start** (the stand-in for the paper's few-shot round 1): a tiny model SFT-ed on
   generated problems, each with a correct rationale in a random modality (optionally a share
   ``noise`` argue a wrong label; 0 in the CPU preset, whose tiny model is imperfect by capacity:
   ~0.6 on the test split, away from chance and from the ceiling);
2. **arms**: ``mot`` self-evolves with all three modalities on ``problems`` seed problems; each
   single-modality arm (``nl_cot``, ``code``, ``truth_table``) self-evolves with its modality on
   ``3 x problems`` seed problems (equal data: the same number of sampled candidates);
3. **evaluation** on the generated test split (depths 1..3): one greedy sample per modality, and
   the seeded majority vote. The ``mot`` arm is also run on shared ProofWriter rows (depth 5,
   held out; labels = the solver's, which reproduces them).

Recorded (per seed, with per-item 0/1 values): ``accuracy`` of each arm (mot: the vote; single
arms: their modality), ``correct`` of ``mot.<modality>`` and ``mot.vote``, per-depth accuracies
``mot.d<k>.<modality>``, and ``tt_gain`` at each depth (truth table minus the better of the other
two) for ``depth1`` / ``depth<max>``.
"""

from __future__ import annotations

import random
from typing import Any

from r1repro.repro import stats
from r1repro.repro.base import Reproduction
from r1repro.types import Row
from r1repro_mot.data import LogicTask, ProofWriterMoT, rationale
from r1repro_mot.selfevolve import evaluate, make_generate_fn, make_sft_fn, self_evolve, with_modality
from r1repro_mot.templates import MODALITIES, ModalityTemplate

ARMS = ("mot", *MODALITIES)
MAX_DEPTH = 3


def warm_pairs(n: int, noise: float, seed: int, task: LogicTask) -> list[tuple[list[dict], str]]:
    """Warm-start SFT data: one random modality per problem; a share ``noise`` argues a wrong label."""
    rng = random.Random(seed)
    pairs = []
    for row in task.load("sft", limit=n, seed=seed):
        m = rng.choice(MODALITIES)
        label = str(row.ground_truth)
        if rng.random() < noise:
            label = rng.choice([x for x in ("True", "False", "Uncertain") if x != label])
        r = with_modality(row, m)
        pairs.append((ModalityTemplate(m, compact=True).render(r), rationale(r, m, label)))
    return pairs


def warm_job(c: dict, seed: int) -> str:
    """A seed's warm start (model init and SFT data from the seed): its model path."""
    from r1repro.models.tiny import resolve_model
    from r1repro.repro.jobs import JOB_THREADS

    task = LogicTask(max_depth=MAX_DEPTH, prop_share=float(c["task"]["prop_share"]))
    w = c["warm"]
    sft = make_sft_fn(int(w["steps"]), float(w["lr"]), int(w["batch_size"]), tag="warm", threads=JOB_THREADS)
    pairs = warm_pairs(int(w["examples"]), float(w["noise"]), seed, task)
    return sft(resolve_model(str(c["model"]), seed=seed), pairs, seed)


def arm_job(c: dict, seed: int, arm: str, test: list[Row], heldout: list[Row], warm: str):
    """One arm of one seed: self-evolve from the seed's warm start, then evaluate on ``test`` (and
    ``heldout``); (per-item results, round stats, held-out results, log lines)."""
    from r1repro.repro.jobs import JOB_THREADS

    task = LogicTask(max_depth=MAX_DEPTH, prop_share=float(c["task"]["prop_share"]))
    gen = make_generate_fn(int(c["max_new_tokens"]), top_p=float(c["top_p"]))
    s = c["sft"]
    sft = make_sft_fn(int(s["steps"]), float(s["lr"]), int(s["batch_size"]), tag="round", threads=JOB_THREADS)
    problems = task.load("train", limit=int(c["problems"]) * len(MODALITIES), seed=seed)
    mods = list(MODALITIES) if arm == "mot" else [arm]
    rows = problems[: int(c["problems"])] if len(mods) > 1 else problems
    lines = [f"{len(rows)} seed problems x {mods}"]
    model, hist = self_evolve(warm, rows, mods, int(c["rounds"]), int(c["k"]), float(c["temperature"]), seed,
                              gen, sft, log=lines.append)  # fmt: skip
    res = evaluate(model, test, gen, seed, float(c["eval"]["temperature"]))
    hres = evaluate(model, heldout, gen, seed, float(c["eval"]["temperature"])) if heldout else None
    return res, hist, hres, lines


def _mean(items: dict[str, float]) -> float:
    return sum(items.values()) / max(1, len(items))


class MotReproduction(Reproduction):
    title = "Learning to Reason via Mixture-of-Thought for Logical Reasoning"
    arxiv = "2505.15817"
    derived_arms = ("mot.vote", *(f"mot.{m}" for m in MODALITIES), "depth1", f"depth{MAX_DEPTH}",
                    *(f"mot.d{d}.{m}" for d in range(1, MAX_DEPTH + 1) for m in (*MODALITIES, "vote")),
                    "proofwriter.vote", *(f"proofwriter.{m}" for m in MODALITIES))  # fmt: skip

    def run(self, run):
        from r1repro.repro.jobs import Job, run_graph
        from r1repro.repro.run import as_container

        c = run.cfg.mot
        cfg = as_container(c)
        task = LogicTask(max_depth=MAX_DEPTH, prop_share=float(c.task.prop_share))
        test = task.load("test", limit=int(c.eval.limit))
        heldout = self._heldout(run, int(c.heldout.limit))
        jobs = [Job(("warm", seed), warm_job, (cfg, seed)) for seed in run.seeds]
        jobs += [Job((arm, seed), arm_job, (cfg, seed, arm, test, heldout if arm == "mot" else []), after=(("warm", seed),))
                 for seed in run.seeds for arm in run.arms]  # fmt: skip
        with run.phase("arms_s"):  # per seed its warm start, then every arm's rounds from it
            out = run_graph(jobs, workers=int(run.cfg.get("workers", 0) or 0), desc="warm starts + arms x seeds",
                            log=run.log)  # fmt: skip
        rows_tbl = []
        for seed in run.seeds:
            for arm in run.arms:
                res, hist, hres, lines = out[(arm, seed)]
                for line in lines:
                    run.log(f"seed {seed}: arm {arm}: {line}")
                own = res["vote"] if arm == "mot" else res[arm]
                run.record("accuracy", arm, seed, _mean(own), items=own)
                run.record("kept", arm, seed, float(sum(sum(h.kept.values()) for h in hist)))
                rows_tbl.append([seed, arm, *(f"{_mean(res[m]):.3f}" for m in (*MODALITIES, "vote")),
                                 " / ".join(str(sum(h.kept.values())) for h in hist)])  # fmt: skip
                if arm == "mot":
                    self._record_mot(run, seed, res, test)
                    for key, items in (hres or {}).items():
                        run.record("correct", f"proofwriter.{key}", seed, _mean(items), items=items)
        run.table("Accuracy on the generated test set (greedy, one sample per modality; vote = majority)",
                  ["seed", "trained arm", *MODALITIES, "vote", "rationales kept per round"], rows_tbl)  # fmt: skip
        self._summary(run)

    @staticmethod
    def _heldout(run, limit: int) -> list[Row]:
        if limit <= 0:
            return []
        try:
            rows = ProofWriterMoT().load("train", limit=limit, seed=0)
        except Exception as exc:  # noqa: BLE001 - the held-out set is optional
            run.note(f"ProofWriter held-out set skipped: {type(exc).__name__}: {exc}")
            return []
        from r1repro_mot.solver import solve

        for r in rows:  # the solver is the scorer: its label must be the data's
            got = solve(r.problem, r.extra["question"])
            if {"Unknown": "Uncertain"}.get(got, got) != r.ground_truth:
                raise AssertionError(f"solver disagrees with ProofWriter row {r.id}")
        return rows

    @staticmethod
    def _record_mot(run, seed: int, res: dict[str, dict[str, float]], test: list[Row]) -> None:
        for key, items in res.items():
            run.record("correct", f"mot.{key}", seed, _mean(items), items=items)
        depth = {r.id: int(r.extra["depth"]) for r in test}
        for d in range(1, MAX_DEPTH + 1):
            per = {k: {i: v for i, v in items.items() if depth[i] == d} for k, items in res.items()}
            for key, items in per.items():
                run.record("correct", f"mot.d{d}.{key}", seed, _mean(items), items=items)
            if d in (1, MAX_DEPTH):
                others = max(_mean(per["nl_cot"]), _mean(per["code"]))
                run.record("tt_gain", f"depth{d}", seed, _mean(per["truth_table"]) - others)

    @staticmethod
    def _summary(run) -> None:
        m = run.measurements

        def cell(metric: str, arm: str) -> str:
            vals = [v for _, v in sorted(m.get(metric, {}).get(arm, {}).items())]
            return f"{stats.mean(vals):.3f} ± {stats.std(vals):.3f}" if vals else "n/a"

        run.table("MoT-trained model by modality and depth (mean ± std over seeds)",
                  ["depth", *MODALITIES, "vote"],
                  [[str(d), *(cell("correct", f"mot.d{d}.{k}") for k in (*MODALITIES, "vote"))]
                   for d in range(1, MAX_DEPTH + 1)]
                  + [["all", *(cell("correct", f"mot.{k}") for k in (*MODALITIES, "vote"))],
                     ["ProofWriter d5 (held out)", *(cell("correct", f"proofwriter.{k}") for k in (*MODALITIES, "vote"))]])  # fmt: skip

    def report_notes(self, run) -> list[str]:
        c: Any = run.cfg.mot
        return [
            f"Self-evolving training: {c.rounds} rounds, k={c.k} candidates (T={c.temperature}, top-p {c.top_p}), "
            "keep the first correct candidate that passes the format filter, SFT on the union, continue from "
            "the previous round (paper §3.2; official: 3 rounds, k=10, lr 5e-6, 2 epochs).",
            "Equal data: single-modality arms sample from 3x as many seed problems as the MoT arm.",
            "Prompts: the compact CPU prompt (premises, conclusion, mode tag); the official final_v2 system "
            "prompt is the paper preset's (templates mot.<mode>).",
            "Code rationales are not executed (final_v2); mot.reward_exec runs them in the sandbox.",
        ]
