"""The light reward model r_theta and the three ways to train it from one session score.

* **LLM decomposition** (arXiv 2505.15922 §4): regression of r_theta(turn) on the decomposer's
  per-turn labels r_LI (text-only or multimodal decomposer);
* **GELI's decomposition** (the reference code's ``train_reward_GELI.py``): regression of the
  *sum* of r_theta's turn predictions onto the session score, MSE (the paper's RRD baseline, here
  without GELI's facial-affect shaping term);
* **uniform** (RRD/IRCR-style): every turn labelled R / T, then turn regression.

r_theta is a bag-of-words ridge regression on the speaker's utterance (unigrams and bigrams):
the fact sheet's CPU check. The paper's r_theta is a BART encoder + MLP (1024-128-1, tanh) over
"context </s></s> AI: response"; ours sees the response only (the RL prompt is fixed within a
GRPO group, so the context could only shift a group's rewards equally). The ridge penalty is ours.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from r1repro.components import Reward
from r1repro.types import RewardResult, Sample
from r1repro_dialogue_decomp.task import Session, utterance_quality

MAX_FEATURE_CHARS = 2000
"""Only the first characters of a response are featurised (a megabyte of text must stay cheap)."""


def features(text: str) -> list[str]:
    """Unigrams and bigrams of a lowercased utterance ('?' and ',' count as words)."""
    words = re.findall(r"[a-z']+|[?,.!]", (text or "")[:MAX_FEATURE_CHARS].lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


@dataclass
class LinearRM:
    """r_theta(x) = bias + sum of the weights of x's known features."""

    vocab: dict[str, int]
    weights: list[float]
    bias: float = 0.0
    source: str = ""

    def predict(self, text: str) -> float:
        return self.bias + sum(self.weights[self.vocab[f]] for f in features(text) if f in self.vocab)

    def predict_many(self, texts: Sequence[str]) -> list[float]:
        return [self.predict(t) for t in texts]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"vocab": self.vocab, "weights": self.weights, "bias": self.bias,
                                    "source": self.source}))  # fmt: skip
        return path

    @classmethod
    def load(cls, path: str | Path) -> LinearRM:
        d = json.loads(Path(path).read_text())
        return cls(vocab=dict(d["vocab"]), weights=[float(w) for w in d["weights"]], bias=float(d["bias"]),
                   source=str(d.get("source", "")))  # fmt: skip


def _vocab(texts: Sequence[str]) -> dict[str, int]:
    seen: dict[str, int] = {}
    for t in texts:
        for f in features(t):
            seen.setdefault(f, len(seen))
    return seen


def _matrix(texts: Sequence[str], vocab: dict[str, int]) -> np.ndarray:
    x = np.zeros((len(texts), len(vocab)))
    for i, t in enumerate(texts):
        for f in features(t):
            if f in vocab:
                x[i, vocab[f]] += 1.0
    return x


def ridge(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, float]:
    """Ridge regression with an unpenalised intercept: (weights, bias)."""
    xm, ym = x.mean(axis=0), float(y.mean())
    xc = x - xm
    w = np.linalg.solve(xc.T @ xc + penalty * np.eye(x.shape[1]), xc.T @ (y - ym))
    return w, ym - float(xm @ w)


def fit_turn_rm(texts: Sequence[str], labels: Sequence[float], penalty: float, source: str = "") -> LinearRM:
    """r_theta by regression on per-turn labels (LLM decomposition, uniform split)."""
    vocab = _vocab(texts)
    w, b = ridge(_matrix(texts, vocab), np.asarray(labels, dtype=float), penalty)
    return LinearRM(vocab, [float(v) for v in w], float(b), source)


def fit_session_rm(sessions: Sequence[Session], penalty: float) -> LinearRM:
    """GELI's decomposition: the sum over a session's turns of r_theta matches its score (MSE).
    With a linear r_theta the sum is linear in the summed features, so this is ridge regression
    of R on them; the intercept is spread over the turns (bias = b0 / mean T)."""
    vocab = _vocab([t.speaker for s in sessions for t in s.turns])
    x = np.asarray([_matrix([t.speaker for t in s.turns], vocab).sum(axis=0) for s in sessions])
    y = np.asarray([s.score for s in sessions], dtype=float)
    w, b0 = ridge(x, y, penalty)
    per_turn_bias = b0 / max(1.0, float(np.mean([len(s.turns) for s in sessions])))
    return LinearRM(vocab, [float(v) for v in w], per_turn_bias, "geli")


def uniform_labels(session: Session) -> list[float]:
    """RRD/IRCR-style uniform split: each of the T turns gets R / T."""
    return [session.score / len(session.turns)] * len(session.turns)


# ----------------------------------------------------------------------------- metrics
def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Pearson r; 0 when either series is constant (it cannot rank the turns)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx, syy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx > 1e-12 and syy > 1e-12 else 0.0


def within_session_corr(sessions: Sequence[Session], turn_scores: dict[str, list[float]]) -> dict[str, float]:
    """Per session: Pearson r of turn scores with the planted turn qualities (credit assignment
    inside a session; a session-level constant scores 0)."""
    return {s.id: pearson(turn_scores[s.id], s.qualities) for s in sessions if s.id in turn_scores}


# ----------------------------------------------------------------------------- rewards
class DialogueRMReward(Reward):
    """r_theta as the RL reward: the ridge model's score of the response (the speaker's turn).

    Options: ``path`` (a model saved by `LinearRM.save`) or ``model`` (its dict)."""

    timeout_s = 5.0

    def __init__(self, name: str = "", path: str | None = None, model: dict | None = None) -> None:
        self.name = name
        if path is None and model is None:
            raise ValueError("dialogue_decomp.rm needs path= (a saved r_theta) or model= (its dict)")
        if path is not None:
            try:
                self.rm = LinearRM.load(path)
            except (OSError, ValueError, KeyError) as exc:
                raise ValueError(f"cannot read r_theta from {path}: {type(exc).__name__}: {exc}") from None
        else:
            self.rm = LinearRM(vocab=dict(model["vocab"]), weights=list(model["weights"]),
                               bias=float(model.get("bias", 0.0)))  # fmt: skip

    @classmethod
    def contract_example(cls) -> dict:
        return {"model": {"vocab": {"?": 0, "boring": 1}, "weights": [1.0, -1.0], "bias": 0.1}}

    def score_one(self, sample: Sample) -> RewardResult:
        return RewardResult(self.rm.predict(sample.response or ""))


class HiddenQualityReward(Reward):
    """The evaluation metric: the hidden rule's expected planted quality of the generated turn
    (what the session score rewards), ``correct`` = the turn helps (quality > 0). Never trained on."""

    def __init__(self, name: str = "") -> None:
        self.name = name

    def score_one(self, sample: Sample) -> RewardResult:
        q, kind = utterance_quality(sample.response or "")
        return RewardResult(q, {"correct": q > 0, "known": kind is not None})
