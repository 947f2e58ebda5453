"""360-R1's three rewards (arXiv 2505.14197, §4 "reward functions") and an accuracy-only baseline.

    R_reason = max(0, cos(E(think), E(reference reasoning)))     reasoning-process similarity
    R_answer = max(0, cos(E(answer), E(reference answer)))        answer semantic accuracy
               (``answer_mode: threshold``: 1 if that cosine >= ``answer_threshold``, else 0)
    R_format = 1 if the response is <think>...</think><answer>...</answer>, else 0
    R        = w_reason R_reason + w_answer R_answer + w_format R_format

E is a sentence embedder (`r1repro_omni360.embedder`: all-MiniLM-L6-v2 or TF-IDF, or any object
with ``encode``). The paper names the three rewards but gives neither their exact form, the
encoder, the weights nor a threshold, and no code is public: every one of these is a config
parameter, and the defaults (cosine clipped at 0, weights 1 / 1 / 1, continuous answer reward)
are ours [unverified]. A missing <think> or <answer> part scores 0 for its term.

``accuracy`` (the baseline arm's only term) is exact match: the normalised <answer> (lower case,
no punctuation or leading article) equals the reference answer or one of its ``aliases``; it is
also ``info["correct"]``, the metric every arm is evaluated on (OmniVQA reports accuracy; how its
open answers are judged is not stated [unverified]).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from r1repro.components import Reward
from r1repro.types import RewardResult, Sample
from r1repro_omni360.embedder import make_embedder, similarities
from r1repro_omni360.templates import format_ok, parse_parts

TERMS = ("reason", "answer", "format", "accuracy")
PAPER_TERMS = ("reason", "answer", "format")
"""360-R1's three rewards (§4)."""
WEIGHTS = {"reason": 1.0, "answer": 1.0, "format": 1.0, "accuracy": 1.0}
"""[unverified] the paper gives no weights; equal weights."""
ANSWER_THRESHOLD = 0.8
"""[unverified] cosine above which a thresholded answer reward pays 1 (``answer_mode: threshold``)."""
ANSWER_MODES = ("cosine", "threshold")
_ARTICLE = re.compile(r"^(the|a|an)\s+")


def normalize(text: Any) -> str:
    """Lower case, punctuation removed, spaces collapsed, a leading article dropped."""
    t = re.sub(r"[^a-z0-9 ]+", " ", str(text).lower())
    return _ARTICLE.sub("", " ".join(t.split()))


def reference(sample: Sample) -> tuple[str, str, list[str], str]:
    """(answer, reasoning, aliases, kind) of a sample's ground truth (a dict, or a bare answer)."""
    gt = sample.ground_truth
    if isinstance(gt, dict):
        return (str(gt.get("answer", "")), str(gt.get("reasoning", "") or ""), [str(a) for a in gt.get("aliases") or []],
                str(gt.get("kind", sample.domain)))  # fmt: skip
    return str(gt), "", [], str(sample.domain)


def exact_match(answer: str | None, ref: str, aliases: Sequence[str] = ()) -> bool:
    if answer is None:
        return False
    got = normalize(answer)
    return bool(got) and got in {normalize(r) for r in (ref, *aliases)}


class Omni360Reward(Reward):
    """w_reason R_reason + w_answer R_answer + w_format R_format (+ w_accuracy exact match).

    Options: ``terms`` (subset of reason / answer / format / accuracy; the paper's recipe is the
    first three, the accuracy-only baseline ``[accuracy]``), ``weights`` (per term), ``embedder``
    (``minilm`` / ``tfidf`` / ``auto`` or an object with ``encode``), ``model_path`` (a MiniLM
    folder), ``answer_mode`` (``cosine`` / ``threshold``) and ``answer_threshold``.
    ``info`` always carries every term (so any arm is evaluated on all of them), ``correct``
    (= exact match) and the question ``kind``.
    """

    name = "omni360.r1"
    description = "360-R1: reasoning similarity + answer semantic similarity + format (weights [unverified])"

    def __init__(self, terms: Sequence[str] = PAPER_TERMS, weights: dict[str, float] | None = None,
                 embedder: Any = "auto", model_path: str | None = None, answer_mode: str = "cosine",
                 answer_threshold: float = ANSWER_THRESHOLD) -> None:  # fmt: skip
        bad = [t for t in terms if t not in TERMS]
        if bad or not terms:
            raise ValueError(f"omni360.r1: terms must be a non-empty subset of {TERMS}, got {list(terms)}")
        if answer_mode not in ANSWER_MODES:
            raise ValueError(f"omni360.r1: answer_mode must be one of {ANSWER_MODES}, got {answer_mode!r}")
        unknown = set(weights or {}) - set(TERMS)
        if unknown:
            raise ValueError(f"omni360.r1: weights for unknown terms {sorted(unknown)}")
        self.terms = tuple(terms)
        self.weights = {**WEIGHTS, **{k: float(v) for k, v in (weights or {}).items()}}
        self.embedder_spec, self.model_path = embedder, model_path
        self._embedder = None
        self.answer_mode, self.answer_threshold = answer_mode, float(answer_threshold)

    @property
    def embedder(self):
        """Built on first use (never at import or construction: rewards stay cheap to build)."""
        if self._embedder is None:
            self._embedder = make_embedder(self.embedder_spec, self.model_path)
        return self._embedder

    def score_batch(self, samples: Sequence[Sample]) -> list[RewardResult]:
        parsed = [parse_parts(s.response) for s in samples]
        refs = [reference(s) for s in samples]
        pairs, where = [], []  # every similarity of the batch in one embedder call
        for i, ((think, answer), (ans_ref, reason_ref, _, _)) in enumerate(zip(parsed, refs)):
            if think and reason_ref:
                where.append((i, "reason"))
                pairs.append((think, reason_ref))
            if answer:
                where.append((i, "answer"))
                pairs.append((answer, ans_ref))
        sims: dict[tuple[int, str], float] = dict(zip(where, similarities(self.embedder, pairs)))
        return [self.result(s, p, r, sims.get((i, "reason"), 0.0), sims.get((i, "answer"), 0.0))
                for i, (s, p, r) in enumerate(zip(samples, parsed, refs))]  # fmt: skip

    def result(self, sample: Sample, parsed, ref, reason_sim: float, answer_sim: float) -> RewardResult:
        (_, answer), (ans_ref, _, aliases, kind) = parsed, ref
        correct = exact_match(answer, ans_ref, aliases)
        answer_sim = 1.0 if correct else answer_sim  # an alias is the reference answer
        parts = {
            "reason": max(0.0, min(1.0, reason_sim)),
            "answer": (float(answer_sim >= self.answer_threshold) if self.answer_mode == "threshold"
                       else max(0.0, min(1.0, answer_sim))),
            "format": float(format_ok(sample.response)),
            "accuracy": float(correct),
        }  # fmt: skip
        score = sum(self.weights[t] * parts[t] for t in self.terms)
        return RewardResult(
            score, {**parts, "correct": correct, "kind": kind, "answered": answer is not None}
        )
