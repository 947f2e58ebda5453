"""GETER's metrics and the RL port's reward (arXiv 2505.15245, §4 metrics).

The paper scores the label (accuracy, F1) and the explanation against the reference (BLEU-4,
ROUGE, BERTScore). Our own implementations, on lower-cased word tokens:

* `bleu4` — corpus BLEU with uniform weights over 1-4-grams, clipped counts and the brevity
  penalty (Papineni et al.); `sentence_bleu4` adds +1 smoothing for single sentences
  (Lin & Och's method, so a short explanation is not 0 for a missing 4-gram).
* `rouge_l` — ROUGE-L F-measure from the longest common subsequence (beta = 1).
* `label_metrics` — accuracy and macro F1 over yes/no/unsure.

`ETRReward` (the RL port; GETER itself is SFT only): ``1[label correct] + lambda · ROUGE-L``
(``lam``, default 0.5 [unverified]: the fact sheet names the form, not the weight). RL runs the
text-only variant: verl's rollouts take token ids, not an input-embedding prefix, so the graph
token cannot be used there.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from r1repro.components import Reward
from r1repro.types import RewardResult, Sample
from r1repro_geter.templates import LABELS, parse_label

_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower()) if isinstance(text, str) else []


def _ngrams(toks: list[str], n: int) -> Counter:
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


def bleu4(hypotheses: Sequence[str], references: Sequence[str], smooth: bool = False) -> float:
    """Corpus BLEU-4 (one reference each), in [0, 1]."""
    match, total = [0] * 4, [0] * 4
    hyp_len = ref_len = 0
    for h, r in zip(hypotheses, references):
        ht, rt = tokens(h), tokens(r)
        hyp_len, ref_len = hyp_len + len(ht), ref_len + len(rt)
        for n in range(1, 5):
            hc, rc = _ngrams(ht, n), _ngrams(rt, n)
            match[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
            total[n - 1] += max(0, len(ht) - n + 1)
    if hyp_len == 0:
        return 0.0
    add = 1 if smooth else 0
    logs = []
    for n in range(4):
        num, den = match[n] + (add if n > 0 else 0), total[n] + (add if n > 0 else 0)
        if num == 0 or den == 0:
            return 0.0
        logs.append(math.log(num / den))
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return bp * math.exp(sum(logs) / 4)


def sentence_bleu4(hypothesis: str, reference: str) -> float:
    return bleu4([hypothesis], [reference], smooth=True)


def rouge_l(hypothesis: str, reference: str) -> float:
    """ROUGE-L F1 (LCS-based)."""
    h, r = tokens(hypothesis), tokens(reference)
    if not h or not r:
        return 0.0
    prev = [0] * (len(r) + 1)
    for a in h:
        cur = [0]
        for j, b in enumerate(r):
            cur.append(prev[j] + 1 if a == b else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, rec = lcs / len(h), lcs / len(r)
    return 2 * p * rec / (p + rec)


def label_metrics(predictions: Sequence[str | None], labels: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro F1 over the three labels (an unparsed prediction is wrong)."""
    acc = sum(p == y for p, y in zip(predictions, labels)) / max(1, len(labels))
    f1s = []
    for c in LABELS:
        tp = sum(p == c and y == c for p, y in zip(predictions, labels))
        fp = sum(p == c and y != c for p, y in zip(predictions, labels))
        fn = sum(p != c and y == c for p, y in zip(predictions, labels))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return {"accuracy": acc, "macro_f1": sum(f1s) / len(f1s)}


class ETRReward(Reward):
    """``1[label correct] + lam · ROUGE-L(response, reference explanation)`` (RL port).

    The sample's ``ground_truth`` is the label, or a dict ``{"label", "explanation"}``.
    """

    info_keys = ("correct", "rouge_l")

    def __init__(self, lam: float = 0.5, name: str = "") -> None:
        self.lam = float(lam)
        self.name = name or "geter.reward"

    def score_batch(self, samples: Sequence[Sample]) -> list[RewardResult]:
        out = []
        for s in samples:
            gt = s.ground_truth if isinstance(s.ground_truth, dict) else {"label": s.ground_truth}
            correct = parse_label(s.response) == str(gt.get("label", "")).lower()
            rl = rouge_l(s.response, str(gt.get("explanation", ""))) if gt.get("explanation") else 0.0
            out.append(RewardResult(float(correct) + self.lam * rl, {"correct": correct, "rouge_l": rl}))
        return out
