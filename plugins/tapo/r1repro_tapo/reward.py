"""TAPO's reward: binary answer accuracy (paper §4.1: Math-Verify on the final answer).

    r = 1 if the final answer is equivalent to the ground truth, else 0      (no format term)

`BinaryAccuracy` takes the checker as its ``verifier`` option (a registered reward whose
``info["correct"]`` is the verdict; default ``tapo.math_verify`` = core `MathVerify`). It also counts, per thought template
(``Sample.meta["template"]``, set by the guided rollout), how many training rollouts were
correct; ``consume_stats()`` hands the counts to the engine's step metrics
(``reward/correct@<id>``; the rollout reports ``tapo/uses@<id>``), which the reproduction turns
into its template table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from r1repro.components import Reward, is_correct
from r1repro.core_components import extract_answer
from r1repro.types import RewardResult, Sample

CORRECT_REWARD = 1.0  # paper §4.1: binary accuracy reward
WRONG_REWARD = 0.0


class BinaryAccuracy(Reward):
    """1 for a correct final answer (``<answer>`` or last ``\\boxed{}``), else 0; template stats."""

    info_keys = ("correct",)

    def __init__(self, verifier: Any = "tapo.math_verify", name: str = "") -> None:
        from r1repro.registry import build

        self.verifier = verifier if isinstance(verifier, Reward) else build("reward", verifier)
        self.timeout_s = max(self.timeout_s, getattr(self.verifier, "timeout_s", 0.0) * 2 + 1)
        self.name = name or "tapo.reward"
        self._correct: Counter[str] = Counter()

    def children(self) -> list[Reward]:
        return [self.verifier]

    def score_batch(self, samples: Sequence[Sample]) -> list[RewardResult]:
        answers = [extract_answer(s.response) if isinstance(s.response, str) else None for s in samples]
        probes = [Sample(response=f"\\boxed{{{a}}}", ground_truth=s.ground_truth, problem=s.problem,
                         data_source=s.data_source, domain=s.domain)
                  for s, a in zip(samples, answers) if a is not None]  # fmt: skip
        verdicts = iter([is_correct(r) for r in self.verifier(probes)] if probes else [])
        out = []
        for s, a in zip(samples, answers):
            ok = bool(next(verdicts)) if a is not None else False
            out.append(RewardResult(CORRECT_REWARD if ok else WRONG_REWARD, {"correct": ok}))
            meta = s.meta or {}
            if meta.get("phase") == "train" and meta.get("template"):
                self._correct[meta["template"]] += int(ok)
        return out

    def consume_stats(self) -> dict[str, float]:
        stats = {f"correct@{t}": float(n) for t, n in self._correct.items()}
        self._correct.clear()
        return stats
