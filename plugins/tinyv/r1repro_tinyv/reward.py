"""TinyV's rewards: the rule verifiers, the TinyV reward (rule, then a small LLM), an oracle.

Registered names (the plugin's public API):

    tinyv.prime        PRIME's math grader (`prime_math`), 0/1; the paper's rule verifier
    tinyv.math_verify  math-verify 0.9.0 as a second rule verifier, 0/1 (as verl wires it)
    tinyv.addon        TinyV, paper default: rule first, the LLM only for rule-negatives
    tinyv.tinyv_only   the LLM verifier alone
    tinyv.mixed        w * LLM + (1 - w) * rule
    tinyv.oracle       true equivalence on the generated multi-form task (CPU-scale metric)
    tinyv.stated_verifier  add-on whose verifier is that oracle with errors at stated rates

`TinyVReward` follows the official reward (``verl/verl/utils/reward_score/tinyv.py``):

    prime_ok, has_box, answer = prime_math.compute_score(response, ground_truth)
    addon:      r = 1 if prime_ok else tinyv_weight * TinyV(question, ground_truth, answer)
    tinyv_only: r = TinyV(question, ground_truth, answer)
    mixed:      r = tinyv_weight * TinyV(...) + (1 - tinyv_weight) * prime_ok

with no format reward. ``TinyV(...)`` renders the verifier prompt (`templates.TINYV_PROMPT`),
asks for at most 8 tokens at temperature 0, reads "True"/"False" (`templates.parse_verdict`)
and retries a failed call 3 times at temperature + 0.3. Here every verifier call of a
reward batch goes to the judge in **one** ``judge.complete`` call (identical prompts once),
so a local model batches them and a server sees them concurrently; failures are retried
together. Rule checks run in the killable process pool, each bounded by ``timeout_s``.

The judge is any `r1repro.judge` back-end: ``{"backend": "transformers", "model":
"zhangchenxu/TinyV-1.5B"}`` (default), ``{"backend": "openai", "model": ..., "base_url":
"http://localhost:8000/v1"}`` (the official setup: TinyV served by vLLM), a stub, or a
project-trained tiny TinyV (``"prefix_cache": true`` runs the fixed head of the prompt once
per batch, `r1repro_tinyv.verifier.SharedPrefixJudge`).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from r1repro.components import Reward
from r1repro.textutil import last_boxed
from r1repro.types import RewardResult, Sample
from r1repro_tinyv import templates

log = logging.getLogger(__name__)
# PRIME's grader converts LaTeX with pylatexenc, which logs a warning for every malformed
# \frac a policy writes; in a training run that is noise (the verdict is "wrong" anyway).
logging.getLogger("pylatexenc").setLevel(logging.ERROR)

MODES = ("addon", "tinyv_only", "mixed")
TINYV_SOURCE_MARKERS = ("_tinyv", "HardVerify-Math")
"""Official routing (reward_score/__init__.py): data sources containing these go to TinyV."""
MAX_CACHED_RESPONSE = 4096
DEFAULT_JUDGE = {"backend": "transformers", "model": templates.DEFAULT_VERIFIER}


# ----------------------------------------------------------------------- rule verifiers
@functools.lru_cache(maxsize=65536)
def _prime_cached(
    response: str, ground_truth: str, variant: str, budget: float
) -> tuple[bool, bool, str | None]:
    from r1repro_tinyv import prime_math

    return prime_math.compute_score(response, ground_truth, time_budget=budget, variant=variant)


def prime_verdict(response: str, ground_truth: Any, variant: str = "prime",
                  time_budget: float = 10.0) -> tuple[bool, bool, str | None]:  # fmt: skip
    """``prime_math.compute_score`` with a per-process memo for short responses."""
    from r1repro_tinyv import prime_math

    gt = str(ground_truth)
    if len(response) <= MAX_CACHED_RESPONSE and len(gt) <= MAX_CACHED_RESPONSE:
        return _prime_cached(response, gt, variant, float(time_budget))
    return prime_math.compute_score(response, gt, time_budget=time_budget, variant=variant)


class PrimeReward(Reward):
    """PRIME's rule verifier (TinyV's baseline): 1 if ``prime_math`` says correct, else 0.

    ``info``: ``correct``, ``has_boxed`` and ``extracted`` (the string PRIME graded, which
    TinyV passes to its verifier). ``variant``: "prime" (the grader TinyV trained with) or
    "verl" (the copy in current verl); see `prime_math`. Runs isolated: every check is
    killed after ``timeout_s`` (PRIME's own budget, ``time_budget``, is enforced inside).
    """

    isolate: ClassVar[bool] = True
    preload_modules: ClassVar[tuple[str, ...]] = (
        "r1repro_tinyv.prime_math",
        "sympy",
        "pylatexenc.latex2text",
    )
    info_keys: ClassVar[tuple[str, ...]] = ("has_boxed",)

    def __init__(self, variant: str = "prime", time_budget: float = 10.0, timeout_s: float = 15.0,
                 name: str = "") -> None:  # fmt: skip
        if variant not in ("prime", "verl"):
            raise ValueError(f"variant must be 'prime' or 'verl', got {variant!r}")
        self.variant, self.time_budget, self.timeout_s = variant, float(time_budget), float(timeout_s)
        self.name = name or "tinyv.prime"

    def score_one(self, sample: Sample) -> RewardResult:
        ok, has_boxed, extracted = prime_verdict(sample.response, sample.ground_truth, self.variant,
                                                 self.time_budget)  # fmt: skip
        return RewardResult(float(ok), {"correct": bool(ok), "has_boxed": bool(has_boxed),
                                        "extracted": extracted})  # fmt: skip


def _math_verify_score(response: str, ground_truth: str, timeout_s: float) -> bool:
    """math-verify as verl's ``math_verify.compute_score`` calls it: the ground truth boxed and
    read with the LaTeX extractor, the response read with the expression and LaTeX extractors,
    correct if any gold matches any prediction."""
    from math_verify.grader import verify
    from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig, parse

    gold = parse("\\boxed{" + ground_truth + "}", (LatexExtractionConfig(),), parsing_timeout=timeout_s)
    pred = parse(response, (ExprExtractionConfig(), LatexExtractionConfig()), parsing_timeout=timeout_s)
    if not gold or not pred:
        return False
    return any(verify(g, p, timeout_seconds=timeout_s) for g in gold for p in pred)


class MathVerifyReward(Reward):
    """math-verify (0.9.0) as a second rule verifier, 0/1, wired as verl's ``math_verify``.

    ``info``: ``correct``, ``has_boxed``, ``extracted`` (PRIME's extraction, what TinyV would
    be shown if this rule came first). Runs isolated like `PrimeReward`.
    """

    isolate: ClassVar[bool] = True
    preload_modules: ClassVar[tuple[str, ...]] = ("math_verify", "sympy", "r1repro_tinyv.prime_math")
    info_keys: ClassVar[tuple[str, ...]] = ("has_boxed",)

    def __init__(self, parse_timeout_s: float = 5.0, timeout_s: float = 20.0, name: str = "") -> None:
        self.parse_timeout_s, self.timeout_s = float(parse_timeout_s), float(timeout_s)
        self.name = name or "tinyv.math_verify"

    def score_one(self, sample: Sample) -> RewardResult:
        from r1repro_tinyv import prime_math

        response = sample.response or ""
        ok = _math_verify_score(response, str(sample.ground_truth), int(max(1, self.parse_timeout_s)))
        has_boxed = "\\boxed" in response or "\\fbox" in response
        return RewardResult(float(ok), {"correct": bool(ok), "has_boxed": has_boxed,
                                        "extracted": prime_math.extract_answer(response)})  # fmt: skip


# ---------------------------------------------------------------------------- TinyV
class TinyVReward(Reward):
    """TinyV (arXiv 2505.14625, §4): a rule verifier, then a small LLM verifier.

    Options (defaults = the official ``tinyv.py`` / ``run_grpo_tinyv.sh``):
      mode            "addon" | "tinyv_only" | "mixed" (``tinyv_setup``)
      weight          ``tinyv_weight``: addon scales the LLM's verdict, mixed weighs it (1.0)
      rule            spec of the rule verifier ("tinyv.prime")
      judge           `r1repro.judge.build_judge` spec (transformers zhangchenxu/TinyV-1.5B)
      verifier        which entry of `templates.VERIFIER_TEMPLATES` gives prompt and settings
                      (default: the judge's model, else TinyV-1.5B)
      max_tokens, temperature, think   override the verifier's settings (8, 0.0, False);
                      ``think``: read the verdict after "Answer:" (the -Think variants)
      retries         failed verifier calls are retried this many times at temperature + 0.3
      question_suffix appended to the bare problem to form the question TinyV sees; the
                      official RL data stores problem + the policy instruction (default)
      route_by_data_source  score only data sources containing "_tinyv" / "HardVerify-Math"
                      with TinyV and the rest with the rule alone (official routing; off:
                      r1repro picks the reward by name)

    ``info``: ``correct`` (the final verdict), ``rule_correct``, ``llm_called``,
    ``llm_verdict`` (NaN when not called), ``has_boxed``. ``consume_stats()`` returns, since
    the last call: ``llm_share`` (samples sent to the LLM / samples scored), ``llm_seconds``
    (time in the judge), ``llm_prompts`` (distinct prompts sent), ``rule_seconds``.
    """

    info_keys: ClassVar[tuple[str, ...]] = ("rule_correct", "llm_called", "llm_verdict", "has_boxed")

    def __init__(self, mode: str = "addon", weight: float = 1.0, rule: Any = "tinyv.prime", judge: Any = None,
                 verifier: str | None = None, max_tokens: int | None = None, temperature: float | None = None,
                 think: bool | None = None, retries: int = 3, question_suffix: str = templates.POLICY_INSTRUCTION,
                 route_by_data_source: bool = False, timeout_s: float = 600.0, name: str = "") -> None:  # fmt: skip
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode, self.weight = mode, float(weight)
        if mode == "mixed" and not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"mixed mode needs 0 <= weight <= 1, got {weight}")
        self.rule_spec = rule
        self.judge_spec = _plain(judge) if judge is not None else dict(DEFAULT_JUDGE)
        model = self.judge_spec.get("model") if isinstance(self.judge_spec, dict) else None
        self.spec = templates.verifier_spec(verifier or model)
        self.max_tokens = int(max_tokens if max_tokens is not None else self.spec.max_tokens)
        self.temperature = float(temperature if temperature is not None else self.spec.temperature)
        self.think = bool(self.spec.think if think is None else think)
        self.retries = int(retries)
        self.question_suffix = question_suffix or ""
        self.route_by_data_source = bool(route_by_data_source)
        self.timeout_s = float(timeout_s)
        self.name = name or f"tinyv.{mode}"
        self._rule = None
        # built now (no model is loaded yet) so a bad judge spec fails when the reward is built
        self._judge = build_verifier_judge(self.judge_spec)
        self._stats = {"samples": 0, "routed": 0, "prompts": 0, "llm_seconds": 0.0, "rule_seconds": 0.0,
                       "failures": 0}  # fmt: skip

    @classmethod
    def contract_example(cls) -> dict[str, Any]:
        return {"judge": {"backend": "stub", "fn": "r1repro_tinyv.reward:stub_says_true_for_seven"}}

    # -- components -----------------------------------------------------------------
    @property
    def rule(self) -> Reward:
        if self._rule is None:
            from r1repro.registry import build

            self._rule = (
                self.rule_spec if isinstance(self.rule_spec, Reward) else build("reward", self.rule_spec)
            )
        return self._rule

    @property
    def judge(self):
        if self._judge is None:
            self._judge = build_verifier_judge(self.judge_spec)
        return self._judge

    def children(self) -> list[Reward]:
        return [self.rule]

    def __getstate__(self) -> dict[str, Any]:  # the judge (a model, a client) stays in its process
        state = dict(self.__dict__)
        state["_judge"] = None
        return state

    # -- scoring --------------------------------------------------------------------
    def question(self, sample: Sample) -> str:
        return f"{sample.problem}{self.question_suffix}"

    def uses_llm(self, sample: Sample) -> bool:
        if not self.route_by_data_source:
            return True
        return any(m in (sample.data_source or "") for m in TINYV_SOURCE_MARKERS)

    def score_batch(self, samples: Sequence[Sample]) -> list[RewardResult]:
        t0 = time.perf_counter()
        rule_results = self.rule(samples)
        t1 = time.perf_counter()
        answers, routed = [], []
        for i, (s, r) in enumerate(zip(samples, rule_results)):
            extracted = r.info.get("extracted")
            if extracted is None:
                from r1repro_tinyv import prime_math

                extracted = prime_math.extract_answer(s.response or "")
            answers.append("" if extracted is None else str(extracted))
            rule_ok = bool(r.info.get("correct", r.score > 0.5))
            if self.uses_llm(s) and (self.mode != "addon" or not rule_ok):
                routed.append(i)
        prompts = [templates.verifier_messages(self.question(samples[i]), str(samples[i].ground_truth),
                                               answers[i], self.spec.template) for i in routed]  # fmt: skip
        verdicts, errors = self.verify_checked(prompts)
        llm: dict[int, int | None] = dict(zip(routed, verdicts))
        judge_errors: dict[int, str] = {i: e for i, e in zip(routed, errors) if e is not None}
        t2 = time.perf_counter()

        out = []
        for i, (s, r) in enumerate(zip(samples, rule_results)):
            rule_ok = bool(r.info.get("correct", r.score > 0.5))
            called = i in llm
            v = llm.get(i)
            tv = float(v or 0)  # an invalid reply scores 0, as in the official code
            if not self.uses_llm(s):
                score = float(rule_ok)
            elif self.mode == "addon":
                score = 1.0 if rule_ok else self.weight * tv
            elif self.mode == "tinyv_only":
                score = tv
            else:
                score = self.weight * tv + (1.0 - self.weight) * float(rule_ok)
            info = {
                "correct": score >= 0.5 if self.mode == "mixed" else score > 0.0,
                "rule_correct": float(rule_ok),
                "llm_called": float(called),
                "llm_verdict": float(v) if called and v is not None else math.nan,
                "has_boxed": bool(r.info.get("has_boxed", "\\boxed" in (s.response or ""))),
            }
            if "error" in r.info:
                info["rule_error"] = r.info["error"]
            if i in judge_errors:  # a judge failure is an error, never a "False" verdict
                info["error"] = judge_errors[i]
                info["correct"] = rule_ok if self.mode == "addon" else False
                score = self.failure_score
            out.append(RewardResult(score, info))
        self._stats["samples"] += len(samples)
        self._stats["routed"] += len(routed)
        self._stats["rule_seconds"] += t1 - t0
        self._stats["llm_seconds"] += t2 - t1
        return out

    def verify(self, prompts: list[list[dict]]) -> list[int | None]:
        """The verdicts of `verify_checked` (None where the judge failed)."""
        return self.verify_checked(prompts)[0]

    def verify_checked(self, prompts: list[list[dict]]) -> tuple[list[int | None], list[str | None]]:
        """(verdicts, errors): one judge call for all prompts (duplicates once); failed
        replies (an error or "") retried. A prompt still failing after the retries has
        verdict None and its error; an empty reply that never errored parses as 0 (official)."""
        if not prompts:
            return [], []
        keys = [p[-1]["content"] for p in prompts]
        unique: dict[str, int] = {}
        for k in keys:
            unique.setdefault(k, len(unique))
        order = list(unique)
        first = {k: prompts[i] for i, k in reversed(list(enumerate(keys)))}
        batch = [first[k] for k in order]
        replies, errors = self.judge.complete_checked(batch, max_tokens=self.max_tokens,
                                                      temperature=self.temperature)  # fmt: skip
        self._stats["prompts"] += len(batch)
        for _attempt in range(self.retries):
            failed = [j for j, (r, e) in enumerate(zip(replies, errors)) if e is not None or not r]
            if not failed or any(e is not None and e.startswith("judge model") for e in errors):
                break  # nothing to retry, or the model cannot load: retrying cannot help
            self._stats["failures"] += len(failed)
            again, again_err = self.judge.complete_checked(
                [batch[j] for j in failed], max_tokens=self.max_tokens,
                temperature=self.temperature + templates.RETRY_TEMPERATURE_BUMP)  # fmt: skip
            for j, r, e in zip(failed, again, again_err):
                replies[j], errors[j] = r, e
        parsed = [None if e is not None else templates.parse_verdict(r, think=self.think)
                  for r, e in zip(replies, errors)]  # fmt: skip
        return [parsed[unique[k]] for k in keys], [errors[unique[k]] for k in keys]

    def consume_stats(self) -> dict[str, float]:
        s = self._stats
        n = max(1, s["samples"])
        out = {"llm_share": s["routed"] / n, "llm_seconds": s["llm_seconds"], "llm_prompts": float(s["prompts"]),
               "rule_seconds": s["rule_seconds"], "llm_retries": float(s["failures"])}  # fmt: skip
        for k in s:
            s[k] = 0.0 if isinstance(s[k], float) else 0
        return out


def build_verifier_judge(spec: Any):
    """A judge from a spec; ``"prefix_cache": true`` with the transformers back-end gives the
    plugin's `SharedPrefixJudge` (the same model, the shared head of the prompts run once)."""
    from r1repro.judge import Judge, build_judge

    if isinstance(spec, Judge):
        return spec
    spec = _plain(spec)
    if isinstance(spec, dict) and (
        spec.get("prefix_cache") or str(spec.get("model", "")).startswith("tinyv:")
    ):
        from r1repro_tinyv.verifier import SharedPrefixJudge

        opts = {k: v for k, v in spec.items() if k not in ("prefix_cache", "backend")}
        return SharedPrefixJudge(**opts)
    if isinstance(spec, dict):
        spec = {k: v for k, v in spec.items() if k != "prefix_cache"}
    return build_judge(spec)


def stub_says_true_for_seven(prompt: str) -> str:
    """A stub verifier for tests and contract checks: "True" iff the model answer is 7."""
    ans = prompt.split("<model_answer>")[-1].split("</model_answer>")[0].strip()
    return "True" if ans == "7" else "False"


def _plain(spec: Any) -> Any:
    if hasattr(spec, "items") and not isinstance(spec, dict):
        from omegaconf import OmegaConf

        return OmegaConf.to_container(spec, resolve=True)
    return dict(spec) if isinstance(spec, dict) else spec


# ---------------------------------------------------------------------------- oracle
class OracleReward(Reward):
    """True equivalence on ``tinyv.multiform`` rows: 1 iff the last ``\\boxed{}`` holds an
    answer equal in value to the row's truth, whatever its form (`forms.equivalent`).

    A CPU-scale metric (the pass rate the paper would measure with a perfect verifier);
    rows without a known truth score 0 with ``info["error"]``. With ``rule`` (a rule
    verifier's spec, e.g. "tinyv.prime") it also reports that rule's verdict
    (``rule_correct``) and whether the answer is one of its false negatives (``rule_fn``).
    """

    info_keys: ClassVar[tuple[str, ...]] = ("has_boxed", "rule_correct", "rule_fn")
    timeout_s: float = 2.0

    def __init__(self, rule: Any = None, name: str = "") -> None:
        self.rule_spec = rule
        self._rule = None
        self.name = name or "tinyv.oracle"

    def children(self) -> list[Reward]:
        return [self.rule] if self.rule is not None else []

    @property
    def rule(self) -> Reward | None:
        if self._rule is None and self.rule_spec is not None:
            from r1repro.registry import build

            self._rule = build("reward", self.rule_spec)
        return self._rule

    def score_one(self, sample: Sample) -> RewardResult:
        from r1repro_tinyv import forms

        extra = sample.extra or {}
        kind, truth = extra.get("kind"), extra.get("truth")
        answer = last_boxed(sample.response or "")
        if kind not in forms.KINDS or not isinstance(truth, dict):
            return RewardResult(0.0, {"correct": False, "has_boxed": answer is not None,
                                      "error": "not a tinyv.multiform row (no kind/truth)"})  # fmt: skip
        ok = forms.equivalent(kind, answer, truth)
        return RewardResult(float(ok), {"correct": ok, "has_boxed": answer is not None})

    def score_batch(self, samples: Sequence[Sample]) -> list[Any]:
        results = [self.coerce(r) for r in super().score_batch(samples)]
        if self.rule is not None:
            for res, rule_res in zip(results, self.rule(samples)):
                rule_ok = bool(rule_res.info.get("correct", rule_res.score > 0.5))
                res.info["rule_correct"] = float(rule_ok)
                res.info["rule_fn"] = float(bool(res.info.get("correct")) and not rule_ok)
        return results


class StatedQualityVerifierReward(Reward):
    """TinyV add-on with a verifier of *stated* quality instead of a trained one (CPU scale).

    The rule first (``tinyv.prime``); on the rule's negatives, the oracle's verdict on the
    answer TinyV would be shown (PRIME's extraction, as in `TinyVReward`), wrong at fixed
    rates: a truly equivalent answer is accepted with probability ``recall``, a wrong one
    with probability ``false_positive``. So "RL with TinyV beats rule-only" can be tested with
    a verifier of the paper's quality when the tiny one falls short (issue 10).

    The errors are a fixed function of (``seed``, question, ground truth, shown answer): a
    greedy verifier also gives the same pair the same verdict every time, so the policy can
    learn to exploit a false positive, as it could with TinyV. ``info`` and
    ``consume_stats()`` are `TinyVReward`'s (``llm_share``: samples sent to the verifier).
    """

    info_keys: ClassVar[tuple[str, ...]] = ("rule_correct", "llm_called", "llm_verdict", "has_boxed")

    def __init__(self, recall: float = 0.9, false_positive: float = 0.05, seed: int = 0,
                 rule: Any = "tinyv.prime", name: str = "") -> None:  # fmt: skip
        for key, val in (("recall", recall), ("false_positive", false_positive)):
            if not 0.0 <= float(val) <= 1.0:
                raise ValueError(f"{key} must lie in [0, 1], got {val}")
        self.recall, self.false_positive, self.seed = float(recall), float(false_positive), int(seed)
        self.rule_spec = rule
        self._rule = None
        self.name = name or "tinyv.stated_verifier"
        self._stats = {"samples": 0, "routed": 0}

    @property
    def rule(self) -> Reward:
        if self._rule is None:
            from r1repro.registry import build

            self._rule = build("reward", self.rule_spec)
        return self._rule

    def children(self) -> list[Reward]:
        return [self.rule]

    def draw(self, sample: Sample, answer: str) -> float:
        """A uniform number in [0, 1) fixed by the seed and the pair the verifier would see."""
        import hashlib

        key = f"{self.seed}\x00{sample.problem}\x00{sample.ground_truth}\x00{answer}".encode()
        return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2.0**64

    def verdict(self, sample: Sample, answer: str | None) -> bool:
        """The stated-quality verifier's verdict on a rule-negative ``answer``."""
        from r1repro_tinyv import forms

        extra = sample.extra or {}
        kind, truth = extra.get("kind"), extra.get("truth")
        truly = kind in forms.KINDS and isinstance(truth, dict) and forms.equivalent(kind, answer, truth)
        return self.draw(sample, answer or "") < (self.recall if truly else self.false_positive)

    def score_batch(self, samples: Sequence[Sample]) -> list[RewardResult]:
        out = []
        for s, r in zip(samples, self.rule(samples)):
            rule_ok = bool(r.info.get("correct", r.score > 0.5))
            info = {"rule_correct": float(rule_ok), "llm_called": float(not rule_ok), "llm_verdict": math.nan,
                    "has_boxed": bool(r.info.get("has_boxed", "\\boxed" in (s.response or "")))}  # fmt: skip
            ok = rule_ok
            if not rule_ok:
                extracted = r.info.get("extracted")
                ok = self.verdict(s, None if extracted is None else str(extracted))
                info["llm_verdict"] = float(ok)
            info["correct"] = ok
            out.append(RewardResult(float(ok), info))
        self._stats["samples"] += len(samples)
        self._stats["routed"] += sum(1 for x in out if x.info["llm_called"])
        return out

    def consume_stats(self) -> dict[str, float]:
        n = max(1, self._stats["samples"])
        out = {"llm_share": self._stats["routed"] / n, "llm_seconds": 0.0}
        self._stats = {"samples": 0, "routed": 0}
        return out
