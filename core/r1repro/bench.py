"""What the speed benchmarks (``make bench``, ``tests/benchmarks``) run, kept importable.

The benchmarks compare r1repro with its peers *in the same run on the same machine*, so
every number they publish is a ratio. This module holds the pieces they share and that a
user may want to call by hand:

* `machine_info` - cores, torch threads, load and package versions, stored in the JSON;
* `GRPOStepSpec`, `local_engine`, `bench_engine_steps` and `TrlGRPORunner` - one GRPO step of the local engine
  and of TRL's ``GRPOTrainer`` on the identical tiny model, tokenizer, prompts, group
  size, response length and loss settings;
* `hardverify_corpus`, `generated_corpus`, `adversarial_corpus` and the verdict functions
  `prime_verdict` / `math_verify_verdict` (module-level so the worker pool can pickle them)
  for the reward-throughput comparison.

Nothing heavy is imported at module level: torch, transformers and TRL load on first use.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

THREADS_ENV = "R1REPRO_BENCH_THREADS"
ROUNDS_ENV = "R1REPRO_BENCH_ROUNDS"


def bench_rounds(default: int) -> int:
    """Timed rounds of one benchmark: its own default unless ``$R1REPRO_BENCH_ROUNDS`` is set."""
    env = os.environ.get(ROUNDS_ENV)
    return max(1, int(env)) if env else default


def bench_threads() -> int:
    """Torch threads both sides of a comparison use (``$R1REPRO_BENCH_THREADS``, else all cores)."""
    env = os.environ.get(THREADS_ENV)
    if env:
        return max(1, int(env))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def machine_info() -> dict[str, Any]:
    """The facts that make two benchmark runs comparable (stored in the benchmark JSON)."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "bench_threads": bench_threads(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    for dist in (
        "r1repro",
        "torch",
        "transformers",
        "trl",
        "math-verify",
        "sympy",
        "verl",
        "pytest-benchmark",
    ):
        try:
            info[f"version_{dist}"] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            info[f"version_{dist}"] = None
    if "torch" in sys.modules:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    return info


# ============================================================================ training step
@dataclass
class GRPOStepSpec:
    """One GRPO step, described once and given to both engines.

    Every response is exactly ``max_new_tokens`` long on both sides (EOS is made
    impossible), so tokens per second compare like with like. Loss: GRPO advantages with
    the group std, token-mean aggregation over the batch (TRL's ``loss_type="dapo"``,
    verl's ``loss_agg_mode="token-mean"``), clip 0.2, no KL (beta 0), one policy update
    per batch, AdamW without weight decay, constant learning rate, gradient clip 1.0.
    """

    model: str = "micro"  # tiny model size (a local HF folder both sides load by path)
    prompts: int = 8
    n: int = 8  # group size
    max_new_tokens: int = 32
    lr: float = 1e-5
    threads: int = field(default_factory=bench_threads)
    seed: int = 0
    dataset_rows: int = 256

    def label(self) -> str:
        return f"tiny:{self.model} {self.prompts}x{self.n} L={self.max_new_tokens} threads={self.threads}"

    def response_tokens(self) -> int:
        return self.prompts * self.n * self.max_new_tokens


def engine_config(spec: GRPOStepSpec, out_dir: str | Path):
    """The local engine's config for ``spec``."""
    from r1repro.engine.config import make_config
    from r1repro.models.tiny import materialize_tiny

    return make_config(
        {
            "model": {"path": str(materialize_tiny(spec.model)), "dtype": "float32"},
            "data": {"dataset": "core.arithmetic", "template": "core.boxed", "limit": spec.dataset_rows},
            "reward": "core.exact_match",
            "rollout": {"n": spec.n, "max_new_tokens": spec.max_new_tokens, "temperature": 1.0, "top_p": 1.0},
            "algorithm": {"adv_estimator": "grpo", "norm_adv_by_std_in_grpo": True},
            "actor": {"lr": spec.lr, "weight_decay": 0.0, "grad_clip": 1.0, "ppo_epochs": 1,
                      "policy_loss": "vanilla", "clip_ratio": 0.2, "loss_agg_mode": "token-mean",
                      "use_kl_loss": False, "entropy_coeff": 0.0},
            "eval": {"limit": 0, "every": 0},
            "trainer": {"batch_size": spec.prompts, "seed": spec.seed, "threads": spec.threads,
                        "progress": False, "out_dir": str(out_dir), "save_every": 10**9, "log_samples": 0,
                        "device": "cpu"},
        }
    )  # fmt: skip


def local_engine(spec: GRPOStepSpec, out_dir: str | Path, fixed_length: bool = True):
    """A set-up `LocalEngine` for ``spec``; with ``fixed_length`` no response can stop early."""
    from r1repro.engine.local import LocalEngine
    from r1repro.engine.rollout import RolloutContext

    class _NoEosContext(RolloutContext):
        @property
        def eos_ids(self) -> list[int]:
            return []

    class _FixedLengthEngine(LocalEngine):
        def rollout_context(self, *args: Any, **kwargs: Any):
            ctx = super().rollout_context(*args, **kwargs)
            ctx.__class__ = _NoEosContext
            return ctx

    cls = _FixedLengthEngine if fixed_length else LocalEngine
    return cls(engine_config(spec, out_dir), quiet=True).setup()


def bench_engine_steps(benchmark, engine, rounds: int, group: str) -> list[dict[str, float]]:
    """Time ``rounds`` consecutive ``engine.train_step`` calls (after one warm-up step) with
    pytest-benchmark's ``benchmark`` fixture; returns the timed steps' metrics."""
    import itertools

    steps = itertools.count(1)
    metrics: list[dict[str, float]] = []

    def one_step() -> None:
        metrics.append(engine.train_step(next(steps)))

    benchmark.group = group
    benchmark.pedantic(one_step, rounds=rounds, warmup_rounds=1, iterations=1)
    return metrics[1:]


def trl_prompt_rows(engine) -> list[dict[str, Any]]:
    """The engine's training rows as a TRL conversational dataset (same template, same rows)."""
    return [
        {"prompt": engine.template.render(r), "ground_truth": str(r.ground_truth), "problem": r.problem}
        for r in engine.train_rows
    ]


def exact_match_reward_func() -> Callable[..., list[float]]:
    """r1repro's ``core.exact_match`` as a TRL reward function (identical reward work both sides)."""
    from r1repro.core_components import ExactMatch
    from r1repro.types import Sample

    reward = ExactMatch()

    def exact_match(prompts, completions, ground_truth, **kwargs) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else str(c) for c in completions]
        samples = [Sample(response=t, ground_truth=g) for t, g in zip(texts, ground_truth)]
        return [r.score for r in reward(samples)]

    return exact_match


class TrlGRPORunner:
    """TRL's ``GRPOTrainer.train()`` driven one optimizer step at a time.

    ``train()`` runs in a worker thread; a callback holds it at ``on_step_begin`` until
    `step` is called and releases the caller at ``on_step_end``, so one `step` is exactly
    one real optimizer step of the unmodified trainer loop (generation, reward, loss,
    backward, clip, AdamW). Inside the step the trainer's own methods are timed:
    ``_generate`` (prompt tokenisation + ``model.generate`` + decoding, the counterpart of
    the local engine's rollout) and ``_generate_and_score_completions`` (``_generate`` +
    rewards + advantages); the update is the rest of the step.
    """

    def __init__(self, spec: GRPOStepSpec, rows: list[dict[str, Any]], model_path: str | Path,
                 out_dir: str | Path, total_steps: int) -> None:  # fmt: skip
        import torch
        from datasets import Dataset as HFDataset
        from transformers import TrainerCallback
        from trl import GRPOConfig, GRPOTrainer

        from r1repro.models.tiny import load_tokenizer

        self.spec, self.total_steps = spec, total_steps
        self.timings: dict[str, list[float]] = {"generate": [], "generate_and_score": [], "step": []}
        self._go, self._done = threading.Semaphore(0), threading.Semaphore(0)
        self._error: BaseException | None = None
        self._steps_done = 0
        runner = self

        class _Timed(GRPOTrainer):
            def _generate(self, prompts):
                t0 = time.perf_counter()
                try:
                    return super()._generate(prompts)
                finally:
                    runner._current["generate"] = time.perf_counter() - t0

            def _generate_and_score_completions(self, inputs):
                t0 = time.perf_counter()
                try:
                    return super()._generate_and_score_completions(inputs)
                finally:
                    runner._current["generate_and_score"] = time.perf_counter() - t0

        class _Gate(TrainerCallback):
            def on_train_begin(self, args, state, control, **kwargs):
                torch.set_num_threads(spec.threads)  # intra-op threads are per calling thread

            def on_step_begin(self, args, state, control, **kwargs):
                runner._go.acquire()
                runner._current = {}
                runner.observed_threads = torch.get_num_threads()
                runner._t_step = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                runner.timings["step"].append(time.perf_counter() - runner._t_step)
                runner.timings["generate"].append(runner._current.get("generate", float("nan")))
                runner.timings["generate_and_score"].append(
                    runner._current.get("generate_and_score", float("nan"))
                )
                runner._done.release()

        self._current: dict[str, float] = {}
        self._t_step = 0.0
        self.observed_threads: int | None = None
        args = GRPOConfig(
            output_dir=str(out_dir), use_cpu=True, bf16=False, fp16=False, gradient_checkpointing=False,
            per_device_train_batch_size=spec.prompts * spec.n, num_generations=spec.n,
            gradient_accumulation_steps=1, steps_per_generation=1, num_iterations=1,
            max_completion_length=spec.max_new_tokens,
            generation_kwargs={"min_new_tokens": spec.max_new_tokens},  # EOS impossible: fixed length
            temperature=1.0, top_p=1.0, top_k=0, beta=0.0, epsilon=0.2, loss_type="dapo", scale_rewards="group",
            learning_rate=spec.lr, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0,
            max_grad_norm=1.0, max_steps=total_steps, seed=spec.seed, report_to="none", logging_strategy="no",
            save_strategy="no", disable_tqdm=True, dataloader_num_workers=0, dataloader_pin_memory=False,
            log_completions=False, model_init_kwargs={"dtype": "float32"},
        )  # fmt: skip
        torch.set_num_threads(spec.threads)
        self.trainer = _Timed(
            model=str(model_path),
            reward_funcs=[exact_match_reward_func()],
            args=args,
            train_dataset=HFDataset.from_list(rows),
            processing_class=load_tokenizer(str(model_path)),
            callbacks=[_Gate()],
        )
        self._thread = threading.Thread(target=self._train, name="trl-grpo", daemon=True)
        self._thread.start()

    def _train(self) -> None:
        try:
            self.trainer.train()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self._error = exc
            self._done.release()

    def step(self, timeout_s: float = 600.0) -> dict[str, float]:
        """Run one optimizer step; returns its timings (seconds)."""
        if self._steps_done >= self.total_steps:
            raise RuntimeError(f"TrlGRPORunner was built for {self.total_steps} steps")
        self._go.release()
        if not self._done.acquire(timeout=timeout_s):
            raise TimeoutError(f"TRL step did not finish in {timeout_s}s")
        if self._error is not None:
            raise RuntimeError(f"TRL's GRPOTrainer failed: {self._error!r}") from self._error
        self._steps_done += 1
        return {k: v[-1] for k, v in self.timings.items()}

    def close(self) -> None:
        """Let the trainer run out its remaining steps (none if used as planned) and join."""
        while self._thread.is_alive() and self._steps_done < self.total_steps and self._error is None:
            self.step()
        self._thread.join(timeout=60)


# ============================================================================ math verifiers
BOXED_RESPONSE = "Let me work through it carefully. So the final answer is \\boxed{{{answer}}}."


def prime_verdict(response: str, ground_truth: str) -> bool:
    """The project's rule-based math verifier (TinyV plugin's ``prime_math``), one answer."""
    from r1repro_tinyv import prime_math

    return bool(prime_math.compute_score(response, ground_truth)[0])


def math_verify_verdict(response: str, ground_truth: str) -> bool:
    """math-verify's documented use: ``verify(parse(gold), parse(answer))``."""
    from math_verify import parse, verify

    gold = ground_truth if ("$" in ground_truth or "\\boxed" in ground_truth) else f"${ground_truth}$"
    try:
        return bool(verify(parse(gold), parse(response)))
    except Exception:  # noqa: BLE001 - count a crash as "wrong", as a reward would
        return False


VERDICTS: dict[str, Callable[[str, str], bool]] = {
    "r1repro": prime_verdict,
    "math_verify": math_verify_verdict,
}


def timed_verdict(which: str, response: str, ground_truth: str) -> tuple[bool, float]:
    """(verdict, seconds) of one answer; module-level for the worker pool."""
    fn = VERDICTS[which]
    t0 = time.perf_counter()
    try:
        ok = fn(response, ground_truth)
    except Exception:  # noqa: BLE001
        ok = False
    return ok, time.perf_counter() - t0


def hardverify_path() -> Path | None:
    """HardVerify-Math.json in ``$R1REPRO_DATA_DIR/tinyv`` or ``../shared/data/tinyv`` (None if absent)."""
    from r1repro.components import data_dirs

    for d in data_dirs():
        p = d / "tinyv" / "HardVerify-Math.json"
        if p.is_file():
            return p
    return None


def hardverify_corpus() -> list[tuple[str, str, str]]:
    """(name, response, ground truth): every row's false-negative and true-negative output, boxed."""
    path = hardverify_path()
    if path is None:
        return []
    rows = json.loads(path.read_text())
    out = []
    for r in rows:
        for kind in ("fn", "tn"):
            out.append((f"hv-{r['id']}-{kind}", BOXED_RESPONSE.format(answer=r[f"{kind}_output"]),
                        str(r["ground_truth"])))  # fmt: skip
    return out


# (ground truth, equivalent forms, wrong forms): the answer shapes of competition math
_FORMS: list[tuple[str, list[str], list[str]]] = [
    ("{a}", ["{a}", "{a}.0", "\\frac{{{a2}}}{{2}}", "{a}\\text{{ apples}}"], ["{a1}", "-{a}"]),
    (
        "\\frac{{{a}}}{{{b}}}",
        ["{a}/{b}", "\\dfrac{{{a}}}{{{b}}}", "{q:.6f}"],
        ["\\frac{{{b}}}{{{a}}}", "{a}{b}"],
    ),
    (
        "{a}\\sqrt{{{p}}}",
        ["\\sqrt{{{ap2}}}", "{a}*\\sqrt{{{p}}}", "{s:.6f}"],
        ["{a1}\\sqrt{{{p}}}", "\\sqrt{{{p}}}"],
    ),
    (
        "\\frac{{\\pi}}{{{b}}}",
        ["\\pi/{b}", "\\frac{{1}}{{{b}}}\\pi", "{r:.6f}"],
        ["\\frac{{\\pi}}{{{b1}}}", "{b}\\pi"],
    ),
    ("[{a}, {c})", ["[{a},{c})", "[{a}, {c})"], ["({a}, {c}]", "[{a}, {c}]"]),
    ("({a}, {c})", ["({a},{c})", "\\left({a}, {c}\\right)"], ["({c}, {a})", "({a}, {c1})"]),
    ("x^2+{t}x+{a2sq}", ["(x+{a})^2", "x^{{2}}+{t}x+{a2sq}"], ["x^2+{a2sq}", "(x-{a})^2"]),
    (
        "\\{{{a}, {c}, {d}\\}}",
        ["\\{{{c}, {a}, {d}\\}}", "{a}, {c}, {d}"],
        ["\\{{{a}, {c}\\}}", "{a}, {c}, {d1}"],
    ),
    ("{a}^\\circ", ["{a}", "{a}^{{\\circ}}", "{a} degrees"], ["{a1}^\\circ"]),
    ("{a}\\%", ["{a}", "{a}\\%", "{pc}"], ["{a1}\\%"]),
    ("\\text{{(B)}}", ["B", "(B)", "\\text{{B}}"], ["C", "\\text{{(D)}}"]),
    ("y={a}x+{c}", ["{a}x+{c}", "y = {a}x + {c}"], ["y={c}x+{a}"]),
]


def generated_corpus(n: int = 300, seed: int = 0) -> list[tuple[str, str, str]]:
    """(name, response, ground truth) over common answer shapes, equivalent and wrong forms mixed."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        gt_f, good, bad = _FORMS[i % len(_FORMS)]
        a, b, c, d, p = rng.randint(2, 40), rng.randint(3, 12), rng.randint(41, 90), rng.randint(91, 99), 3
        p = rng.choice([2, 3, 5, 7])
        vals = dict(a=a, a1=a + 1, a2=2 * a, b=b, b1=b + 1, c=c, c1=c + 1, d=d, d1=d + 1, p=p, ap2=a * a * p,
                    q=a / b, s=a * p**0.5, r=3.141592653589793 / b, t=2 * a, a2sq=a * a, pc=a / 100)  # fmt: skip
        forms = good + bad
        pred_f = forms[rng.randrange(len(forms))]
        gt, pred = gt_f.format(**vals), pred_f.format(**vals)
        kind = "eq" if pred_f in good else "ne"
        out.append((f"gen-{i}-{kind}", BOXED_RESPONSE.format(answer=pred), gt))
    return out


def adversarial_corpus(ground_truth: str = "42") -> list[tuple[str, str, str]]:
    """The core's adversarial responses (`r1repro.testing.ADVERSARIAL_RESPONSES`)."""
    from r1repro.testing import ADVERSARIAL_RESPONSES

    return [(f"adv-{k}", v, ground_truth) for k, v in ADVERSARIAL_RESPONSES.items()]


POOL_PRELOAD = ("r1repro.bench", "sympy", "math_verify", "r1repro_tinyv.prime_math")


def warm_pool_workers(modules: tuple[str, ...] = POOL_PRELOAD) -> bool:
    """Import ``modules`` once in the forkserver that `VerifierPool` workers are forked from.

    Without it every new worker (and every replacement of a worker killed at a timeout)
    imports the verifier inside its first task, and that import counts against the task's
    timeout: math-verify's first answer in a fresh process takes ~0.7 s, so with a 1 s
    timeout one slow answer can set off a chain of cold workers that all time out.
    Returns False when the forkserver is already running (too late to preload).
    """
    import importlib.util
    import multiprocessing
    from multiprocessing import forkserver

    if getattr(forkserver._forkserver, "_forkserver_pid", None) is not None:
        return False
    found = []
    for m in modules:
        try:
            if importlib.util.find_spec(m) is not None:
                found.append(m)
        except (ImportError, ValueError):
            pass
    multiprocessing.get_context("forkserver").set_forkserver_preload(found)
    return True


def cold_first_answer_s(which: str, timeout_s: float = 120.0) -> float | None:
    """Seconds the first answer takes in a fresh interpreter (lazy imports included)."""
    import subprocess

    code = ("import time; t = time.perf_counter(); from r1repro.bench import timed_verdict; "
            f"timed_verdict({which!r}, 'The answer is \\\\boxed{{1/2}}.', '\\\\frac{{1}}{{2}}'); "
            "print(time.perf_counter() - t)")  # fmt: skip
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout_s,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})  # fmt: skip
        return float(out.stdout.strip().splitlines()[-1])
    except Exception:  # noqa: BLE001
        return None


def prime_math_available() -> str | None:
    """None if ``r1repro_tinyv.prime_math`` imports, else the reason."""
    try:
        from r1repro_tinyv import prime_math  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        return f"r1repro_tinyv.prime_math is not importable ({type(exc).__name__}: {exc})"
    return None


def to_jsonable(obj: Any) -> Any:
    """Dataclasses and tuples as plain JSON (for ``benchmark.extra_info``)."""
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)
    return obj
