"""Running a reproduction: compose its config, run its experiment, write the report.

``run_reproduction("tinyv", scale="cpu")`` composes ``reproductions/tinyv/config.yaml`` with
hydra (scale preset + user overrides), creates ``runs/tinyv/<run-id>/``, calls the plugin's
`Reproduction.run` with a `ReproRun`, judges every claim of ``claims.yaml`` against what
was measured, and writes ``report.md``, ``results.json``, ``config.yaml`` and PNG plots.
With ``scale=paper`` it prepares and launches verl instead (see `r1repro.verl_bridge`).

**Seeds replicate the whole pipeline.** ``engine_config(arm, seed)`` sets ``trainer.seed``
(data order, sampling), ``model.init_seed`` (the tiny model's initialisation) and
``model.sft.seed`` (the SFT warm start's data sample and order) to the seed, so every seed has
its own warm start (cached per seed) and arms of one seed share it: they are compared paired.
A config pins one of these keys by setting it explicitly (in ``engine`` or in an arm); the
whole rule is off with ``seed_pipeline: false``. Anything else a reproduction trains (a
verifier, a proxy) takes its seed from ``run.component_seed(seed, "<config section>")``.

**Profiles.** ``profile: quick`` (the default: the config's ``seeds``, else [0, 1, 2]) or
``profile: full`` (``profiles.full.seeds``, else [0, 1, 2, 3, 4]); an explicit ``seeds=[...]``
override wins over both. README result tables come from full-profile runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import platform
import subprocess
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1repro.paths import repo_root, runs_dir
from r1repro.repro import stats
from r1repro.repro.claims import Claim, Judgement, judge, load_claims
from r1repro.repro.jobs import ENV_PREFIXES

STANDARD_EVAL_KEYS = ("correct", "score", "response_length")
PROFILE_SEEDS = {"quick": [0, 1, 2], "full": [0, 1, 2, 3, 4]}
SEEDED_KEYS = (("trainer", "seed"), ("model", "init_seed"), ("model", "sft", "seed"))
EVAL_ITEMS_FILE = "eval_items.jsonl"
STANDARD_PREFIXES = ("final_", "initial_", "mean_")


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]
    note: str = ""


@dataclass
class ReproRun:
    name: str
    scale: str
    cfg: Any
    out_dir: Path
    reproduction: Any
    registry: Any
    claims: list[Claim] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    measurements: dict[str, dict[str, dict[int, float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict))
    )
    items: dict[str, dict[str, dict[int, dict[str, float]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict))
    )
    once: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    histories: dict[str, dict[int, list[dict[str, float]]]] = field(default_factory=lambda: defaultdict(dict))
    tables: list[Table] = field(default_factory=list)
    plots: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quiet: bool = False
    hashes: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    """Machine and code facts taken when the run starts (its commit is the code it ran)."""
    protocols: dict[str, str] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Where the run's time went (`PHASES`), summed over every `train_arms` call."""

    @contextlib.contextmanager
    def phase(self, name: str):
        """Add the wall time of the ``with`` block to ``timing[name]`` (a key of `PHASES`):
        for a reproduction that trains its arms itself (``arms_s``) or prepares each seed
        itself (``prep_s``), so its report says where the time went."""
        if name not in PHASES:
            raise KeyError(f"unknown timing phase {name!r}; one of {sorted(PHASES)}")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timing[name] += time.perf_counter() - t0

    # ----------------------------------------------------------------- recording
    def record(self, metric: str, arm: str, seed: int, value: float, items: Any = None) -> None:
        """One seed's measurement; ``items``: the per-item values it averages (a list, or a
        mapping item id -> value, e.g. per evaluation prompt), which carry its evaluation error."""
        self.measurements[metric][arm][int(seed)] = float(value)
        if items is not None:
            self.items[metric][arm][int(seed)] = as_items(items)

    def record_once(self, metric: str, arm: str, value: float, items: Any = None) -> None:
        """A deterministic measurement (the same for every seed, e.g. a fixed verifier on a fixed
        set): recorded once, reported with n = 1 and the interval of its ``items``."""
        self.once[metric][arm] = {
            "value": float(value),
            "items": as_items(items) if items is not None else {},
        }

    def set_protocol(self, metric: str, protocol: str) -> None:
        """How ``metric`` is evaluated (set, size, decoding, samples per item), for the report of
        every claim on it that does not state its own ``protocol:``."""
        self.protocols[metric] = protocol

    def items_of(self, metric: str, arm: str, seed: int) -> dict[str, float] | None:
        """The per-item values recorded with a measurement (None if it has none)."""
        return self.items.get(metric, {}).get(arm, {}).get(int(seed))

    def gain_items(self, after: str, before: str, arm: str, seed: int) -> dict[str, float] | None:
        """Item-wise ``after - before`` (e.g. final_correct - initial_correct) when both were
        measured on the same items: the items of a gain measurement."""
        a, b = self.items_of(after, arm, seed), self.items_of(before, arm, seed)
        if a and b and set(a) == set(b):
            return {k: a[k] - b[k] for k in a}
        return None

    def table(self, title: str, headers: list[str], rows: list[list[Any]], note: str = "") -> None:
        self.tables.append(Table(title, headers, rows, note))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def log(self, msg: str) -> None:
        if not self.quiet:
            print(f"[{self.name}] {msg}", flush=True)

    # ----------------------------------------------------------------- training
    @property
    def seeds(self) -> list[int]:
        return [int(s) for s in self.cfg.get("seeds", [0])]

    @property
    def profile(self) -> str:
        return str(self.cfg.get("profile", "quick"))

    @property
    def seed_pipeline(self) -> bool:
        return bool(self.cfg.get("seed_pipeline", True))

    def component_seed(self, seed: int, section: str, key: str = "seed") -> int:
        """The seed of something a reproduction trains besides the policy (a verifier, a proxy):
        ``<section>.<key>`` if the config pins it, else the run's seed (0 without seed_pipeline).
        Put it in the component's config so its cache is keyed by it."""
        from omegaconf import OmegaConf

        pinned = OmegaConf.select(self.cfg, f"{section}.{key}") if self.cfg is not None else None
        if pinned is not None:
            return int(pinned)
        return int(seed) if self.seed_pipeline else 0

    @property
    def arms(self) -> list[str]:
        return list((self.cfg.get("arms") or {}).keys())

    def engine_config(self, arm: str, seed: int, extra: dict[str, Any] | None = None):
        """The engine config of one arm and seed: base ``engine`` + ``arms.<arm>`` + seed."""
        from omegaconf import OmegaConf

        from r1repro.engine.config import make_config

        base = as_container(self.cfg.get("engine"))
        arm_over = as_container((self.cfg.get("arms") or {}).get(arm))
        cfg = make_config(base)
        cfg = OmegaConf.merge(cfg, OmegaConf.create(arm_over or {}), OmegaConf.create(extra or {}))
        cfg.trainer.seed = int(seed)
        if self.seed_pipeline:
            for path in SEEDED_KEYS[1:]:
                if not any(_has_key(src, path) for src in (base, arm_over, extra)):
                    OmegaConf.update(cfg, ".".join(path), int(seed))
        cfg.trainer.out_dir = str(self.out_dir / "arms" / arm / f"seed{seed}")
        return cfg

    def train_arms(self, arms: list[str] | None = None, seeds: list[int] | None = None,
                   extra: dict[Any, dict[str, Any]] | None = None) -> dict[tuple[str, int], list[dict]]:  # fmt: skip
        """Train ``arms`` × ``seeds`` (in parallel worker processes) and record measurements.

        ``extra`` overrides the engine config per arm (key ``arm``) or per arm and seed (key
        ``(arm, seed)``, e.g. a verifier trained for that seed). Recorded per arm and seed, for
        every eval metric ``eval/<k>``: ``final_<k>`` (last evaluation) and ``initial_<k>``
        (before RL), each with its per-prompt items, ``mean_<k>`` (mean over evaluations, an area
        under the curve) and ``best_<k>`` (the best evaluation: chosen on the test split, so
        shown in the raw table only; claims cannot use it). Histories are kept for plots.
        """
        arms = arms or self.arms
        seeds = seeds or self.seeds
        extra = extra or {}
        jobs = [
            (a, s, self.engine_config(a, s, extra.get((a, s), extra.get(a)))) for a in arms for s in seeds
        ]
        workers = int(self.cfg.get("workers", 0) or 0)
        warm: dict[str, list[str]] = {}
        results = run_jobs(jobs, workers=workers, registry=self.registry, log=self.log, timing=self.timing,
                           warm_starts=warm)  # fmt: skip
        if warm.get("cached"):  # the wall time then leaves out their training: the report says so
            note = (f"{len(warm['cached'])} of the {sum(map(len, warm.values()))} SFT warm starts of arms "
                    f"{sorted(set(arms))} came from the cache (trained earlier with the same settings), "
                    "so this run's wall time leaves out their training.")  # fmt: skip
            if note not in self.notes:
                self.note(note)
        out = {}
        for (arm, seed, cfg), history in zip(jobs, results):
            for phase, seconds in phase_seconds(history).items():
                self.timing[phase] += seconds
            self.histories[arm][seed] = history
            out[(arm, seed)] = history
            items = standard_items(history, read_eval_items(cfg.trainer.out_dir))
            for key, value in standard_measurements(history).items():
                self.record(key, arm, seed, value, items=items.get(key))
        return out

    def plot(self, metric: str, arms: list[str] | None = None, title: str | None = None,
             ylabel: str | None = None, filename: str | None = None) -> str | None:  # fmt: skip
        from r1repro.repro.report import plot_curves

        arms = arms or [a for a in self.histories if self.histories[a]]
        path = self.out_dir / (filename or (metric.replace("/", "_") + ".png"))
        ok = plot_curves({a: self.histories[a] for a in arms}, metric, path, title=title or metric,
                         ylabel=ylabel or metric)  # fmt: skip
        if ok:
            self.plots.append((title or metric, path.name))
            return str(path)
        return None


def as_container(node: Any) -> Any:
    """A plain dict/list from an OmegaConf node, a plain value, or None (-> {})."""
    from omegaconf import OmegaConf

    if node is None:
        return {}
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def as_items(items: Any) -> dict[str, float]:
    """Per-item values as {item id: value}; a list gets its positions as ids."""
    if isinstance(items, dict):
        return {str(k): float(v) for k, v in items.items()}
    return {str(i): float(v) for i, v in enumerate(items)}


def _has_key(src: Any, path: tuple[str, ...]) -> bool:
    for p in path:
        if not isinstance(src, dict) or p not in src:
            return False
        src = src[p]
    return True


def read_eval_items(out_dir: str | Path) -> dict[int, dict[str, dict[str, float]]]:
    """``eval_items.jsonl`` of an engine run: {step: {eval key: {item id: value}}}."""
    path = Path(out_dir) / EVAL_ITEMS_FILE
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            out[int(rec["step"])] = rec["items"]
    return out


def standard_items(
    history: list[dict[str, float]], by_step: dict[int, dict[str, dict[str, float]]]
) -> dict[str, dict]:
    """Items of the ``final_<k>`` / ``initial_<k>`` measurements (the first and last evaluation)."""
    evals = [int(h["step"]) for h in history if any(k.startswith("eval/") for k in h)]
    if not evals or not by_step:
        return {}
    out = {}
    for when, step in (("final", evals[-1]), ("initial", evals[0])):
        if when == "initial" and step != 0:
            continue
        for k, its in (by_step.get(step) or {}).items():
            out[f"{when}_{k[len('eval/') :] if k.startswith('eval/') else k}"] = its
    return out


def standard_measurements(history: list[dict[str, float]]) -> dict[str, float]:
    evals = [h for h in history if any(k.startswith("eval/") for k in h)]
    out: dict[str, float] = {}
    if not evals:
        return out
    keys = sorted({k for h in evals for k in h if k.startswith("eval/")})
    for k in keys:
        series = [h[k] for h in evals if k in h]
        short = k[len("eval/") :]
        out[f"final_{short}"] = series[-1]
        out[f"best_{short}"] = max(series)
        out[f"mean_{short}"] = float(sum(series) / len(series))
        if evals[0].get("step", 1) == 0 and k in evals[0]:
            out[f"initial_{short}"] = evals[0][k]
    return out


# ----------------------------------------------------------------- where the time goes
PHASES = {
    "sft_s": "SFT warm starts trained by this run (wall; 0 when every seed's warm start was cached)",
    "arms_s": "wall time of training arms x seeds (the worker processes run in parallel)",
    "prep_s": "per-seed preparation a reproduction runs itself (wall: its warm starts, the verifiers "
    "or proxies it trains, tables), outside sft_s and arms_s",
    "rl_s": "RL steps, summed over arms x seeds (worker seconds; judges included)",
    "eval_s": "evaluations, generation and scoring, summed over arms x seeds (worker seconds)",
    "judge_s": "LLM judges inside the RL steps' rewards (worker seconds; part of rl_s)",
}
"""The phases `ReproRun.timing` records; ``results.json`` has them under ``timing``."""


def phase_seconds(history: list[dict[str, float]]) -> dict[str, float]:
    """Seconds one engine run spent in RL steps, evaluations and LLM judges, from its metrics
    (``timing/step``, ``timing/eval``, and the reward's ``llm_seconds`` or ``judge_seconds``)."""
    out = {"rl_s": 0.0, "eval_s": 0.0, "judge_s": 0.0}
    for h in history:
        out["rl_s"] += float(h.get("timing/step", 0.0))
        out["eval_s"] += float(h.get("timing/eval", 0.0))
        out["judge_s"] += float(h.get("reward/llm_seconds", h.get("reward/judge_seconds", 0.0)))
    return out


def timing_summary(timing: dict[str, float], wall_time_s: float) -> dict[str, float]:
    """``timing`` with ``wall_s`` and ``other_s``: the run's wall time outside SFT and the arms
    (verifiers or proxies a reproduction trains, tables, analysis)."""
    out = {k: float(timing.get(k, 0.0)) for k in PHASES}
    out["wall_s"] = float(wall_time_s)
    out["other_s"] = max(0.0, wall_time_s - out["sft_s"] - out["arms_s"] - out["prep_s"])
    return out


# ----------------------------------------------------------------- parallel jobs
def _train_job(cfg_container: dict, threads: int, env: dict[str, str]) -> list[dict[str, float]]:
    os.environ.update(env)
    from omegaconf import OmegaConf

    from r1repro.engine.config import EngineConfig
    from r1repro.engine.local import LocalEngine, read_metrics

    cfg = OmegaConf.merge(OmegaConf.structured(EngineConfig), OmegaConf.create(cfg_container))
    cfg.trainer.threads = threads
    cfg.trainer.progress = False
    eng = LocalEngine(cfg, quiet=True)
    eng.train()
    return read_metrics(cfg.trainer.out_dir)


def _vl_warm_start_job(cfg_container: dict) -> str:
    """One VLM's SFT warm start in a worker process (module level: picklable)."""
    from omegaconf import OmegaConf

    from r1repro.engine.config import EngineConfig
    from r1repro.models.sft import warm_start
    from r1repro.registry import get_registry

    cfg = OmegaConf.merge(OmegaConf.structured(EngineConfig), OmegaConf.create(cfg_container))
    return warm_start(cfg.model, cfg.model.sft, cfg.data, get_registry(), quiet=True)


def _from_cache(path: str, since: float) -> bool:
    """True if the model folder at ``path`` was written before ``since`` (a wall-clock time): a
    warm start the call found in the cache rather than trained."""
    return (Path(path) / "config.json").stat().st_mtime < since


def _prepare_shared(
    cfgs: list[Any], registry, log=print, warm_starts: dict[str, list[str]] | None = None
) -> float:
    """Materialise tiny models and SFT warm starts before workers race for them: one per distinct
    (model, init seed, SFT config incl. its seed, data), i.e. one warm start per seed. A VLM's warm
    start trains on one thread (`VL_SFT_THREADS`), so several run side by side, one per core, with
    the weights they get one at a time; a text warm start keeps its pinned thread count and runs
    alone. Returns the seconds spent in warm starts (about 0 when they were all cached); the folder
    names of the warm starts go to ``warm_starts["trained"]`` or ``warm_starts["cached"]``."""
    from omegaconf import OmegaConf

    from r1repro.models.sft import warm_start
    from r1repro.models.tiny import resolve_model
    from r1repro.models.tiny_vl import is_vl_model
    from r1repro.repro.jobs import Job, run_graph

    seen, sft_s, vl_jobs = set(), 0.0, []
    started = time.time()
    found = warm_starts if warm_starts is not None else {}

    def record(path: str) -> None:
        found.setdefault("cached" if _from_cache(path, started) else "trained", []).append(
            Path(path).name
        )

    for cfg in cfgs:
        key = json.dumps(
            [str(cfg.model.path), cfg.model.init_seed, str(cfg.model.sft), str(cfg.data)], default=str
        )
        if key in seen:
            continue
        seen.add(key)
        base = resolve_model(cfg.model.path, seed=cfg.model.init_seed)
        if not cfg.model.sft.enabled:
            continue
        if is_vl_model(base):
            vl_jobs.append(
                Job(len(vl_jobs), _vl_warm_start_job, (OmegaConf.to_container(cfg, resolve=True),))
            )
            continue
        t0 = time.perf_counter()
        record(warm_start(cfg.model, cfg.model.sft, cfg.data, registry))
        sft_s += time.perf_counter() - t0
    if vl_jobs:
        log(f"{len(vl_jobs)} VLM warm start(s), cached or trained side by side on one thread each")
        t0 = time.perf_counter()
        done = run_graph(
            vl_jobs, workers=0 if len(vl_jobs) > 1 else 1, desc="VL warm starts", log=lambda m: None
        )
        sft_s += time.perf_counter() - t0
        for job in vl_jobs:
            record(done[job.key])
    return sft_s


def run_jobs(
    jobs: list[tuple[str, int, Any]],
    workers: int = 0,
    registry=None,
    log=print,
    timing: dict[str, float] | None = None,
    warm_starts: dict[str, list[str]] | None = None,
) -> list[list[dict]]:
    """Run engine configs, ``workers`` at a time (default: one per core, 1 thread each); adds the
    seconds of SFT warm starts (``sft_s``) and of the jobs (``arms_s``) to ``timing``, and the
    warm starts' folder names to ``warm_starts["trained"]`` / ``["cached"]``."""
    from omegaconf import OmegaConf

    from r1repro.progress import bar
    from r1repro.registry import get_registry

    registry = registry or get_registry()
    timing = timing if timing is not None else {}
    timing["sft_s"] = timing.get("sft_s", 0.0) + _prepare_shared(
        [c for _, _, c in jobs], registry, log, warm_starts
    )
    workers = workers or max(1, min(len(jobs), os.cpu_count() or 1))
    containers = [OmegaConf.to_container(c, resolve=True) for _, _, c in jobs]
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}
    results: list[list[dict] | None] = [None] * len(jobs)
    t0 = time.time()
    if workers == 1 or len(jobs) == 1:
        for i, c in enumerate(bar(containers, desc="arms x seeds")):
            results[i] = _train_job(c, c["trainer"].get("threads") or os.cpu_count() or 1, env)
            log(f"{jobs[i][0]} seed {jobs[i][1]} done ({time.time() - t0:.0f}s)")
    else:
        ctx = multiprocessing.get_context("spawn")
        threads = max(1, (os.cpu_count() or 1) // workers)
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futs = {pool.submit(_train_job, c, threads, env): i for i, c in enumerate(containers)}
            for fut in bar(as_completed(futs), desc="arms x seeds", total=len(futs)):
                i = futs[fut]
                results[i] = fut.result()
                log(f"{jobs[i][0]} seed {jobs[i][1]} done ({time.time() - t0:.0f}s)")
    timing["arms_s"] = timing.get("arms_s", 0.0) + time.time() - t0
    return [r or [] for r in results]


# ----------------------------------------------------------------- entry point
RUNNER_DEFAULTS = {"workers": 0, "seeds": PROFILE_SEEDS["quick"], "profile": "quick", "seed_pipeline": True}
RUNNER_KEYS = (*RUNNER_DEFAULTS, "profiles")
"""Top-level keys every reproduction accepts; any other key an override names must exist in its
config (a typo such as ``seedz=[0]`` is an error, not a new key)."""


def profile_seeds(cfg: Any, profile: str, explicit: bool) -> list[int]:
    """The seeds of a profile: an explicit ``seeds=`` override, else quick = the config's
    ``seeds`` (default [0, 1, 2]), full = ``profiles.full.seeds`` (default [0, 1, 2, 3, 4])."""
    from omegaconf import OmegaConf

    if profile not in PROFILE_SEEDS:
        raise ValueError(f"profile must be one of {', '.join(PROFILE_SEEDS)}, got {profile!r}")
    if explicit:
        return [int(s) for s in cfg.seeds]
    listed = OmegaConf.select(cfg, f"profiles.{profile}.seeds")
    if listed is not None:
        return [int(s) for s in listed]
    if profile == "quick" and cfg.get("seeds") is not None:
        return [int(s) for s in cfg.seeds]
    return list(PROFILE_SEEDS[profile])


def compose_config(config_dir: Path, scale: str, overrides: list[str], profile: str | None = None):
    """Compose ``config.yaml`` at a scale. Overrides of keys the config lacks are added (no
    ``+`` needed), the runner's own keys (``workers``, ``seeds``, ``profile``,
    ``seed_pipeline``) always exist, and ``seeds`` is the profile's (`profile_seeds`)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf, open_dict

    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base=None):
        base = compose(config_name="config", overrides=[f"scale={scale}"])
        fixed = []
        for ov in overrides:
            key = ov.split("=", 1)[0]
            if "=" in ov and not key.startswith(("+", "~")) and OmegaConf.select(base, key) is None \
                    and key.split(".")[0] not in base:  # fmt: skip
                if key.split(".")[0] not in RUNNER_KEYS:
                    raise ValueError(f"unknown key '{key}' (this reproduction's config has no "
                                     f"'{key.split('.')[0]}'; write '+{ov}' to add a new key on purpose)")  # fmt: skip
                ov = "+" + ov
            fixed.append(ov)
        cfg = compose(config_name="config", overrides=[f"scale={scale}", *fixed])
    explicit_seeds = any(ov.lstrip("+").split("=", 1)[0] == "seeds" for ov in overrides)
    with open_dict(cfg):
        if profile is not None:
            cfg.profile = profile
        for k, v in RUNNER_DEFAULTS.items():
            if k not in cfg:
                cfg[k] = v if k != "seeds" else None
        cfg.seeds = profile_seeds(cfg, str(cfg.profile), explicit_seeds)
    return cfg


def new_run_id(scale: str) -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{scale}"


def dry_run_summary(run: ReproRun) -> dict[str, Any]:
    """What a CPU-scale run would do (composed config, arms, seeds, claims), printed; nothing is
    trained and no run folder is made."""
    from omegaconf import OmegaConf

    print(OmegaConf.to_yaml(run.cfg))
    print(f"# dry run: {run.name} at scale={run.scale}, profile={run.profile}: would train arms {run.arms} "
          f"x seeds {run.seeds} ({len(run.arms) * len(run.seeds)} runs) and judge {len(run.claims)} claims; "
          "nothing was run")  # fmt: skip
    return {"paper": run.name, "scale": run.scale, "dry_run": True, "arms": run.arms, "seeds": run.seeds,
            "claims": [c.id for c in run.claims]}  # fmt: skip


def run_reproduction(
    name: str,
    scale: str = "cpu",
    overrides: list[str] | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
    quiet: bool = False,
    profile: str | None = None,
) -> dict[str, Any]:
    """Run (or, at paper scale, launch) a paper's reproduction; returns a summary dict.
    ``dry_run``: compose and check everything, print what would run, train nothing (both scales)."""
    from omegaconf import OmegaConf

    from r1repro.registry import get_registry

    reg = get_registry()
    repro = reg.build("reproduction", name)
    cfg_dir = repro.resolve_config_dir()
    cfg = compose_config(cfg_dir, scale, list(overrides or []), profile=profile)
    claims_path = cfg_dir / "claims.yaml"
    meta, claims = load_claims(claims_path) if claims_path.exists() else ({}, [])

    if scale == "paper":
        from r1repro.verl_bridge.launch import launch_paper_scale

        return launch_paper_scale(name, cfg, repro, dry_run=dry_run, registry=reg)

    from r1repro.repro.preflight import check_before_run

    check_before_run(name, scale, cfg, repro, reg)  # bad overrides or missing data: stop before any I/O
    out = runs_dir() / name / (run_id or new_run_id(scale))
    run = ReproRun(name=name, scale=scale, cfg=cfg, out_dir=out, reproduction=repro, registry=reg,
                   claims=claims, meta=meta, quiet=quiet)  # fmt: skip
    if dry_run:
        return dry_run_summary(run)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    t0 = time.time()
    run.log(
        f"{repro.title or name}: scale={scale}, profile={run.profile}, seeds={run.seeds}, arms={run.arms} -> {out}"
    )
    run.hashes = {"claims_sha256": sha256_file(claims_path) if claims_path.exists() else None,
                  "config_sha256": hashlib.sha256(OmegaConf.to_yaml(cfg).encode()).hexdigest()}  # fmt: skip
    run.environment = environment_facts()  # the code the run starts from, not the HEAD at its end
    repro.run(run)
    judgements = judge_all(run, claims, earlier_judgements(out.parent, exclude=out))
    wall = time.time() - t0
    from r1repro.repro.report import write_report

    report = write_report(run, judgements, wall)
    summary = {
        "paper": name,
        "scale": scale,
        "profile": run.profile,
        "seeds": run.seeds,
        **run.hashes,
        "out_dir": str(out),
        "report": str(report),
        "wall_time_s": wall,
        "timing": timing_summary(run.timing, wall),
        "verdicts": {j.claim.id: j.verdict for j in judgements},
    }
    (out / "results.json").write_text(
        json.dumps(results_payload(run, judgements, summary), indent=2, default=str)
    )
    latest = out.parent / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(out.name)
    except OSError:
        pass
    run.log(f"report: {report}")
    return summary


def results_payload(run: ReproRun, judgements: list[Judgement], summary: dict[str, Any]) -> dict[str, Any]:
    return {
        **summary,
        "environment": getattr(run, "environment", None) or environment_facts(),
        "measurements": {m: {a: dict(s) for a, s in arms.items()} for m, arms in run.measurements.items()},
        "items": {
            m: {a: {s: v for s, v in by.items()} for a, by in arms.items()} for m, arms in run.items.items()
        },
        "once": {m: dict(arms) for m, arms in run.once.items()},
        "claims": [
            {
                "id": j.claim.id,
                "claim": j.claim.claim,
                "kind": j.claim.kind,
                "source": j.claim.source,
                "paper": j.claim.paper,
                "measured": j.measured,
                "verdict": j.verdict,
                "definition": j.claim.definition(),
                "definition_hash": j.claim.definition_hash(),
                "protocol": j.detail.get("protocol", ""),
                "warnings": j.warnings,
                "revised": j.claim.revised,
                "revision": j.detail.get("revision"),
                "detail": j.detail,
            }
            for j in judgements
        ],  # fmt: skip
        "tables": [t.__dict__ for t in run.tables],
    }


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def default_protocol(cfg: Any) -> str:
    """The evaluation protocol of the base engine config: set, size, decoding, samples per item."""
    eng = as_container(cfg.get("engine")) if cfg is not None else {}
    ev, data = eng.get("eval") or {}, eng.get("data") or {}
    ds = ev.get("dataset") or data.get("dataset") or "the task"
    if not isinstance(ds, str):
        ds = ds.get("name", "the task") if isinstance(ds, dict) else str(ds)
    temp = float(ev.get("temperature", 0.0) or 0.0)
    n = int(ev.get("n", 1) or 1)
    decoding = "greedy" if temp == 0 else f"temperature {temp:g}"
    return f"{ds} / {ev.get('split', 'test')}, {ev.get('limit', 128)} prompts, {decoding}, {n} sample{'s' if n > 1 else ''} per prompt"


def earlier_judgements(paper_dir: Path, exclude: Path | None = None) -> dict[str, list[dict[str, Any]]]:
    """Claims judged by earlier runs under ``runs/<paper>/``: {claim id: [{run, definition,
    definition_hash, verdict}, ...]} (oldest first; runs without definition hashes are skipped)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not paper_dir.is_dir():
        return out
    for res in sorted(paper_dir.glob("*/results.json")):
        if res.parent.is_symlink() or (
            exclude is not None and res.parent.resolve() == Path(exclude).resolve()
        ):
            continue
        try:
            data = json.loads(res.read_text())
        except (OSError, ValueError):
            continue
        for c in data.get("claims", []):
            if c.get("definition_hash"):
                out[c["id"]].append({"run": res.parent.name, "definition": c.get("definition"),
                                     "definition_hash": c["definition_hash"], "verdict": c.get("verdict")})  # fmt: skip
    return out


def judge_all(
    run: ReproRun, claims: list[Claim], earlier: dict[str, list[dict[str, Any]]] | None = None
) -> list[Judgement]:
    """Judge every claim; attach its evaluation protocol and, when an earlier run judged the same
    claim id under another definition, the latest such judgement ("revised after results")."""
    proto = default_protocol(run.cfg)
    out = []
    for c in claims:
        j = judge(c, run.measurements, run.items, run.once)
        standard = proto if c.metric.startswith(STANDARD_PREFIXES) else ""
        j.detail["protocol"] = c.protocol or run.protocols.get(c.metric) or standard
        h = c.definition_hash()
        changed = [e for e in (earlier or {}).get(c.id, []) if e["definition_hash"] != h]
        if changed:
            j.detail["revision"] = changed[-1]
        out.append(j)
    return out


def environment_facts() -> dict[str, Any]:
    facts: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                             "cpus": os.cpu_count()}  # fmt: skip
    try:
        import torch

        facts["torch"] = torch.__version__
        facts["cuda"] = torch.cuda.is_available()
    except ImportError:
        pass
    from importlib import metadata

    for dist in ("r1repro", "verl", "transformers"):
        try:
            facts[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    root = repo_root()
    if root is not None:
        try:
            facts["git_commit"] = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                                 capture_output=True, text=True, timeout=5).stdout.strip()  # fmt: skip
            changed = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                     capture_output=True, text=True, timeout=5).stdout.strip()  # fmt: skip
            facts["git_dirty"] = bool(changed)  # tracked files edited but not committed
        except Exception:  # noqa: BLE001
            pass
    return facts


def verdict_counts(judgements: list[Judgement]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for j in judgements:
        counts[j.verdict] += 1
    return dict(counts)


__all__ = ["ReproRun", "run_reproduction", "stats", "Table"]
