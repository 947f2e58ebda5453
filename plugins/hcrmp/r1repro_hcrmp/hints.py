"""HCRMP's hint provider: ASR features, critic-weight hints, the KB anchor and the semantic cache.

Every constant of the paper lives here with its section (arXiv 2505.15793; fact sheet
/work/shared/papers/multimodal-and-embodied.md §5). What the paper does not state is a
parameter marked [unverified].

* ASR (§3.2, Augmented Semantic Representation): a 4-d scenario vector (road topology and
  traffic dynamics) and the directions of critical agents as one-hot categories.
* CSA (§3.3, Contextual Stability Anchor): the LLM proposes multi-critic weights; a knowledge
  base of scenarios retrieved by nearest neighbour anchors them.
* SCM (§3.4, Semantic Cache Module): the LLM is called every k steps with a latency; between
  calls the last valid hint is served.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np

NON_HALLUCINATION_RATE = 0.5795
"""§1 / §4 (motivation): the LLM's measured non-hallucination rate, 57.95%."""
HALLUCINATION_RATE = 1.0 - NON_HALLUCINATION_RATE
SCENARIO_DIM = 4
"""§3.2: the scenario-level vector is 4-d. Its components here are [unverified]:
(topology: 0 highway / 1 intersection, density, closing speed, risk)."""
DIRECTIONS = ("front", "rear", "left", "right")
"""§3.2: critical agents map to discrete direction categories; this set is [unverified]."""
N_WEIGHTS = 3
"""Critic weights for (safety, efficiency, comfort), the [unverified] critic set of agent.CRITICS."""
HINT_DIM = SCENARIO_DIM + len(DIRECTIONS) + N_WEIGHTS
META_ACTIONS = {"brake": -1.0, "keep": 0.0, "accelerate": 0.6}
"""Throttle of each meta-action the LLM-dominated baseline executes [unverified]."""


@dataclass
class Hint:
    scenario: np.ndarray
    directions: np.ndarray
    weights: np.ndarray
    action: str = "keep"
    hallucinated: bool = False

    def vector(self) -> np.ndarray:
        """The hint as extra state (HCRMP §3: state = raw features ⊕ LLM semantics)."""
        return np.concatenate([self.scenario, self.directions, self.weights]).astype(np.float32)


# ----------------------------------------------------------------- ASR from kinematics
def scene_features(kin: np.ndarray, topology: float, critical_dist: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """The ground-truth ASR of a Kinematics observation (rows: presence, x, y, vx, vy; row 0 ego,
    others ego-relative and normalised): the 4-d scenario vector and the multi-hot directions of
    critical agents (within ``critical_dist`` normalised units [unverified])."""
    others = kin[1:]
    present = others[:, 0] > 0.5
    density = float(present.mean()) if len(others) else 0.0
    dirs = np.zeros(len(DIRECTIONS), dtype=np.float32)
    closing, risk = 0.0, 0.0
    for p, x, y, vx, _ in others:
        if p < 0.5:
            continue
        dist = float(np.hypot(x, y))
        if abs(y) < 0.1:  # same lane band
            ahead = x > 0
            c = max(0.0, -vx if ahead else vx)  # gap shrinking
            closing = max(closing, c)
            if dist < critical_dist:
                risk = max(risk, 1.0 - dist / critical_dist)
        if dist < critical_dist:
            if abs(y) < 0.1:
                dirs[0 if x > 0 else 1] = 1.0
            else:
                dirs[2 if y < 0 else 3] = 1.0
    scenario = np.array([topology, density, min(1.0, closing * 5), risk], dtype=np.float32)
    return scenario, dirs


def rule_weights(scenario: np.ndarray) -> np.ndarray:
    """A deterministic weight policy: the riskier the scene, the more weight on the safety critic
    [unverified rule, the paper's LLM prompt is not published]."""
    risk = float(np.clip(max(scenario[3], scenario[2]), 0.0, 1.0))
    w_safety = 0.3 + 0.5 * risk
    rest = 1.0 - w_safety
    return np.array([w_safety, 0.75 * rest, 0.25 * rest], dtype=np.float32)


def rule_action(scenario: np.ndarray) -> str:
    return "brake" if max(scenario[3], scenario[2]) > 0.3 else "accelerate"


class RuleHintProvider:
    """The CPU stand-in for the LLM: the true ASR + rule weights, corrupted with probability
    ``hallucination_rate`` (default 1 - 0.5795, §1) into a plausible but wrong hint."""

    def __init__(self, topology: float, hallucination_rate: float = HALLUCINATION_RATE, seed: int = 0) -> None:
        self.topology, self.rate = topology, float(hallucination_rate)
        self.rng = np.random.default_rng(seed)

    def __call__(self, kin: np.ndarray) -> Hint | None:
        scenario, dirs = scene_features(kin, self.topology)
        if self.rng.random() < self.rate:
            return self.hallucinate(scenario)
        return Hint(scenario, dirs, rule_weights(scenario), rule_action(scenario))

    def hallucinate(self, scenario: np.ndarray) -> Hint:
        """A wrong hint: a random scene, random directions, random weights, the opposite action."""
        fake = self.rng.random(SCENARIO_DIM).astype(np.float32)
        fake[0] = scenario[0]
        dirs = (self.rng.random(len(DIRECTIONS)) < 0.5).astype(np.float32)
        w = self.rng.dirichlet(np.ones(N_WEIGHTS)).astype(np.float32)
        action = "accelerate" if rule_action(scenario) == "brake" else "brake"
        return Hint(fake, dirs, w, action, hallucinated=True)


# ----------------------------------------------------------------- LLM back-end
PROMPT = (
    "You assist an autonomous driving policy. Scene (ego-relative, normalised): {scene}.\n"
    "Reply with JSON only: {{\"scenario\": [topology, density, closing_speed, risk] (each 0-1), "
    "\"directions\": subset of [\"front\", \"rear\", \"left\", \"right\"] with critical agents, "
    "\"weights\": [safety, efficiency, comfort] summing to 1, \"action\": \"brake\"|\"keep\"|\"accelerate\"}}"
)


def describe(kin: np.ndarray) -> str:
    rows = [f"car{i}: x={x:+.2f} y={y:+.2f} vx={vx:+.2f}" for i, (p, x, y, vx, _) in enumerate(kin[1:]) if p > 0.5]
    return "; ".join(rows) or "no other vehicles"


def parse_hint(text: str) -> Hint | None:
    """Parse the LLM's JSON reply; None for anything malformed (the cache keeps the last valid hint)."""
    m = re.search(r"\{.*\}", text or "", flags=re.S)
    if not m:
        return None
    try:
        d = json.loads(m.group(0))
        scenario = np.clip(np.asarray(d["scenario"], dtype=np.float32), 0.0, 1.0)
        w = np.clip(np.asarray(d["weights"], dtype=np.float32), 0.0, None)
        if scenario.shape != (SCENARIO_DIM,) or w.shape != (N_WEIGHTS,) or w.sum() <= 0:
            return None
        dirs = np.array([1.0 if k in d.get("directions", []) else 0.0 for k in DIRECTIONS], dtype=np.float32)
        action = d.get("action", "keep")
        return Hint(scenario, dirs, w / w.sum(), action if action in META_ACTIONS else "keep")
    except (ValueError, KeyError, TypeError):
        return None


class LLMHintProvider:
    """A real LLM through the core judge interface (``r1repro.judge.build_judge`` spec, e.g.
    ``{backend: openai, model: ..., base_url: ...}``); one bounded request per call."""

    def __init__(self, judge_spec, max_tokens: int = 128) -> None:
        from r1repro.judge import build_judge

        self.judge, self.max_tokens = build_judge(judge_spec), max_tokens

    def __call__(self, kin: np.ndarray) -> Hint | None:
        prompt = [{"role": "user", "content": PROMPT.format(scene=describe(kin))}]
        reply = self.judge.complete([prompt], max_tokens=self.max_tokens)[0]
        return parse_hint(reply)


# ----------------------------------------------------------------- CSA: the knowledge-base anchor
class KnowledgeBase:
    """Scenario vectors -> validated critic weights; queried by nearest neighbour (CSA, §3.3).
    Built from a grid of scenarios with the rule weights (the paper's KB is [unverified])."""

    def __init__(self, keys: np.ndarray, weights: np.ndarray) -> None:
        self.keys, self.weights = np.asarray(keys, np.float32), np.asarray(weights, np.float32)

    @classmethod
    def grid(cls, topology: float, steps: int = 5) -> KnowledgeBase:
        g = np.linspace(0.0, 1.0, steps)
        keys = np.array([[topology, d, c, r] for d in g for c in g for r in g], dtype=np.float32)
        return cls(keys, np.stack([rule_weights(k) for k in keys]))

    def nearest(self, scenario: np.ndarray) -> np.ndarray:
        return self.weights[int(np.argmin(((self.keys - scenario) ** 2).sum(-1)))]


def anchor(hint_w: np.ndarray, kb_w: np.ndarray, tau: float = 0.3, beta: float = 0.5) -> np.ndarray:
    """CSA: keep a hint that agrees with the knowledge base (L1 distance <= ``tau``) blended with it
    by ``beta``; replace one that does not by the KB's weights. tau, beta [unverified]."""
    if float(np.abs(hint_w - kb_w).sum()) > tau:
        return kb_w.copy()
    return ((1 - beta) * hint_w + beta * kb_w).astype(np.float32)


# ----------------------------------------------------------------- SCM: the semantic cache
@dataclass
class SemanticCache:
    """SCM (§3.4): call the provider every ``k`` steps; its answer arrives ``latency`` steps later;
    meanwhile (and when a call returns nothing valid) the last valid hint is served.
    k and latency are [unverified] (the paper's cache policy is not published)."""

    provider: object
    k: int = 5
    latency: int = 1
    calls: int = 0
    served: int = 0
    stale_sum: int = 0
    _t: int = 0
    _pending: list = field(default_factory=list)
    _hint: Hint | None = None
    _hint_t: int = 0

    def reset(self) -> None:
        self._t, self._pending, self._hint, self._hint_t = 0, [], None, 0

    def get(self, kin: np.ndarray) -> Hint | None:
        if self._t % self.k == 0:
            self.calls += 1
            self._pending.append((self._t + self.latency, self._t, self.provider(kin)))
        while self._pending and self._pending[0][0] <= self._t:
            _, asked, hint = self._pending.pop(0)
            if hint is not None:
                self._hint, self._hint_t = hint, asked
        self.served += 1
        if self._hint is not None:
            self.stale_sum += self._t - self._hint_t
        self._t += 1
        return self._hint
