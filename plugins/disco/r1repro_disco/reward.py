"""DISCO: domain- and difficulty-aware scaling of a base reward, and the paper's base reward.

Paper: Zhou et al., "DISCO Balances the Scales: Adaptive Domain- and Difficulty-Aware
Reinforcement Learning on Imbalanced Data" (arXiv 2505.15074). Official code:
Tonyzhou98/disco_grpo (an OpenRLHF 0.6 fork); file names below are from it.

    r'     = r * w_dom(d) * w_diff(g)                     scripts/grpo/*_domain_reward_func.py
    w_dom  = ln(1 + 1/p_d)      p_d = share of domain d in the training data
    w_diff = 1 / (SC_g + 1e-5)  SC_g = mean base reward of the prompt's group of rollouts
    A_i    = r'_i - mean_g(r')  no division by the group std  ("group_norm_wo_std")

Because w_dom and w_diff are constant within a group, A_i = w_dom * w_diff * (r_i - r̄_g):
the weights scale each group's advantages. GRPO's division by the group std would cancel
them exactly (``tests/test_disco.py`` shows it), hence verl's ``grpo`` estimator with
``algorithm.norm_adv_by_std_in_grpo=False`` (Dr.GRPO's advantage).

Composition. ``base`` is any reward spec; its per-sample stage runs in `score_batch` and its
group stage (if any) in `combine`, before the weights, so ``{name: disco.weighted, base:
{name: laser.d, verifier: {name: tinyv.addon}}}`` scales LASER-D's shaped reward.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from r1repro.components import Reward, group_indices, is_correct
from r1repro.types import RewardResult, Sample
from r1repro_disco.mathrule import official_math_match

EPSILON = 1e-5
"""The smoothing term of w_diff = 1 / (SC + 1e-5) (``difficulty_weight`` in the reward files)."""

DOMAIN_WEIGHT_FORMS = ("log", "log_squared", "inverse")
"""w_dom = ln(1+1/p) (used); the official file also keeps ln(1+1/p)^2 and 1/p commented out."""
DIFFICULTY_WEIGHT_FORMS = ("inverse", "log_squared", "none")
"""w_diff = 1/(SC+eps) (used); ``diff_reward_func.py`` keeps ln(1+1/(SC+eps))^2 commented out;
"none" is the official "weighted_group = current_reward * domain_w" variant (domain only)."""


def domain_weight(share: float, form: str = "log") -> float:
    """w_dom of a domain holding ``share`` of the training data: ln(1 + 1/p) by default.

    Constants of ``arc_domain_reward_func.py``: 2.565 at p = 1/12, 0.847 at p = 0.75
    (the "*_main" data sets: 75% one domain, 1/12 each of three others).
    """
    if not share > 0:
        raise ValueError(f"a domain share must be > 0, got {share}")
    if form == "log":
        return math.log(1.0 + 1.0 / share)
    if form == "log_squared":
        return math.log(1.0 + 1.0 / share) ** 2
    if form == "inverse":
        return 1.0 / share
    raise ValueError(f"domain_weight_form must be one of {DOMAIN_WEIGHT_FORMS}, got {form!r}")


def difficulty_weight(sc: float, form: str = "inverse", epsilon: float = EPSILON) -> float:
    """w_diff of a group whose mean base reward (self-consistency) is ``sc``: 1 / (SC + 1e-5)."""
    if form == "inverse":
        return 1.0 / (sc + epsilon)
    if form == "log_squared":
        return math.log(1.0 + 1.0 / (sc + epsilon)) ** 2
    if form == "none":
        return 1.0
    raise ValueError(f"difficulty_weight_form must be one of {DIFFICULTY_WEIGHT_FORMS}, got {form!r}")


def count_shares(domains: Iterable[str]) -> dict[str, float]:
    """p_d: the share of each domain among ``domains`` (one entry per training example)."""
    counts = Counter(domains)
    total = sum(counts.values())
    return {d: c / total for d, c in sorted(counts.items())} if total else {}


class DiscoWeighted(Reward):
    """DISCO: the base reward times w_dom(domain) * w_diff(group self-consistency).

    Options:
      ``base``             reward spec (default ``disco.domain_match``, the paper's binary reward).
      p_d, first that is given:
      ``domain_weights``   {domain: w_dom} used as is (e.g. the official 2.565 / 0.847);
      ``domain_shares``    {domain: p_d};
      ``dataset``          a dataset spec whose ``dataset_split`` (limit ``dataset_limit``) is
                           counted, as the paper counts its training set;
      none of them         p_d is counted online over the samples scored so far (an
                           approximation that converges to the training shares).
      ``domain_key``       "domain" (default) or "data_source": which field names the domain.
      ``sc_from``          "correct" (default): SC = the group's fraction of correct base
                           results; "score": SC = the group's mean base score. For the paper's
                           binary base rewards the two are equal; "correct" keeps SC in [0, 1]
                           for shaped bases (LASER's -1 .. 1.5).
      ``domain_weight_form`` / ``difficulty_weight_form``  see `DOMAIN_WEIGHT_FORMS` /
                           `DIFFICULTY_WEIGHT_FORMS`; ``epsilon`` (1e-5).
      ``max_difficulty_weight``  optional cap on w_diff (None = the paper's uncapped 1/(SC+eps)).
                           With a binary base an all-wrong group has r = 0 and the 1e5 weight
                           is harmless; with a shaped base it is not: cap it (e.g. at n).
      ``unknown_domain_weight``  w_dom of a domain absent from the table (official: 1.0).
    """

    group_aware = True

    def __init__(self, base: Any = "disco.domain_match", domain_weights: Mapping[str, float] | None = None,
                 domain_shares: Mapping[str, float] | None = None, dataset: Any = None,
                 dataset_split: str = "train", dataset_limit: int | None = None, domain_key: str = "domain",
                 sc_from: str = "correct", domain_weight_form: str = "log", difficulty_weight_form: str = "inverse",
                 epsilon: float = EPSILON, max_difficulty_weight: float | None = None,
                 unknown_domain_weight: float = 1.0, name: str = "") -> None:  # fmt: skip
        from r1repro.registry import build

        if domain_key not in ("domain", "data_source"):
            raise ValueError(f"domain_key must be 'domain' or 'data_source', got {domain_key!r}")
        if sc_from not in ("correct", "score"):
            raise ValueError(f"sc_from must be 'correct' or 'score', got {sc_from!r}")
        domain_weight(0.5, domain_weight_form)  # validates the form names early
        difficulty_weight(0.5, difficulty_weight_form)
        self.base = build("reward", base)
        self.name = name or "disco.weighted"
        self.domain_key, self.sc_from = domain_key, sc_from
        self.domain_weight_form, self.difficulty_weight_form = domain_weight_form, difficulty_weight_form
        self.epsilon = float(epsilon)
        self.max_difficulty_weight = None if max_difficulty_weight is None else float(max_difficulty_weight)
        self.unknown_domain_weight = float(unknown_domain_weight)
        self.timeout_s = getattr(self.base, "timeout_s", self.timeout_s)
        self.info_keys = tuple(dict.fromkeys(
            ("correct", "disco_base_score", "disco_w_dom", "disco_w_diff", "disco_sc")
            + tuple(getattr(self.base, "info_keys", ()) or ())))  # fmt: skip
        self.fixed_weights: dict[str, float] | None = None
        self.online_counts: Counter[str] = Counter()
        if domain_weights is not None:
            self.fixed_weights = {str(k): float(v) for k, v in dict(domain_weights).items()}
            self.source = "domain_weights"
        elif domain_shares is not None:
            self.fixed_weights = self.weights_from_shares(
                {str(k): float(v) for k, v in dict(domain_shares).items()}
            )
            self.source = "domain_shares"
        elif dataset is not None:
            ds = build("dataset", dataset)
            rows = ds.load(dataset_split, limit=dataset_limit)
            key = (lambda r: r.domain) if domain_key == "domain" else (lambda r: r.data_source)
            self.fixed_weights = self.weights_from_shares(count_shares(map(key, rows)))
            self.source = "dataset"
        else:
            self.source = "online"

    # ---------------------------------------------------------------- weights
    def weights_from_shares(self, shares: Mapping[str, float]) -> dict[str, float]:
        return {d: domain_weight(p, self.domain_weight_form) for d, p in shares.items() if p > 0}

    def domain_of(self, sample: Sample) -> str:
        if self.domain_key == "data_source":
            return str(sample.data_source)
        if sample.domain in self.domain_weights():
            return str(sample.domain)
        return domain_of_text(sample.problem) or str(sample.domain)  # the official cue phrases

    def domain_weights(self) -> dict[str, float]:
        """The current w_dom table (fixed, or from the online counts)."""
        if self.fixed_weights is not None:
            return dict(self.fixed_weights)
        return self.weights_from_shares(count_shares(self.online_counts.elements()))

    def children(self) -> list[Any]:
        return [self.base]

    def consume_stats(self) -> dict[str, float]:
        """The base reward's per-step statistics (e.g. a wrapped TinyV's ``llm_share``)."""
        consume = getattr(self.base, "consume_stats", None)
        return dict(consume()) if callable(consume) else {}

    # ---------------------------------------------------------------- the two stages
    def score_batch(self, samples: Sequence[Sample]) -> list[RewardResult]:
        """Per-sample stage: the base's per-sample results, plus w_dom (the domain is known here)."""
        raw = self.base.score_batch(samples)
        if len(raw) != len(samples):
            raise ValueError(f"base reward returned {len(raw)} results for {len(samples)} samples")
        domains = [self.domain_of(s) for s in samples]
        if self.fixed_weights is None:
            self.online_counts.update(domains)
        table = self.domain_weights()
        out = []
        for d, r in zip(domains, raw):
            res = self.base.coerce(r)
            w = table.get(d, self.unknown_domain_weight)
            out.append(RewardResult(res.score, {**res.info, "disco_base_score": res.score, "disco_w_dom": w},
                                    res.token_rewards))  # fmt: skip
        return out

    def combine(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[RewardResult]:
        """Group stage: the base's group stage, then r' = r * w_dom * w_diff(SC of the group)."""
        base_in = [RewardResult(float(r.info.get("disco_base_score", r.score)), dict(r.info), r.token_rewards)
                   for r in results]  # fmt: skip
        if getattr(self.base, "group_aware", False):
            base_out = [self.base.coerce(r) for r in self.base.combine(samples, base_in)]
        else:
            base_out = base_in
        out: list[RewardResult] = [None] * len(samples)  # type: ignore[list-item]
        for ix in group_indices(samples).values():
            if self.sc_from == "correct":
                sc = sum(is_correct(base_out[i]) for i in ix) / len(ix)
            else:
                sc = sum(base_out[i].score for i in ix) / len(ix)
            w_diff = difficulty_weight(sc, self.difficulty_weight_form, self.epsilon)
            if self.max_difficulty_weight is not None:
                w_diff = min(w_diff, self.max_difficulty_weight)
            for i in ix:
                b = base_out[i]
                w_dom = float(results[i].info.get("disco_w_dom", self.unknown_domain_weight))
                info = {**b.info, "correct": is_correct(b), "disco_base_score": b.score, "disco_w_dom": w_dom,
                        "disco_w_diff": w_diff, "disco_sc": sc}  # fmt: skip
                out[i] = RewardResult(b.score * w_dom * w_diff, info)
        return out

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        return {"online_counts": dict(self.online_counts)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.online_counts = Counter({str(k): int(v) for k, v in state.get("online_counts", {}).items()})


# ---------------------------------------------------------------------------- base reward
DOMAIN_CUES = {
    "math": "math problem",
    "arc": "multiple-choice answers",
    "nq": "concise and accurate answer",
    "imdb": "movie review",
}
"""Prompt phrases by which the official reward recognises a domain (``reward_func.py``)."""

_LETTER = re.compile(r"\b[A-H]\b")
_SENTIMENT = re.compile(r"\b(Negative|Positive)\b")


def normalize_text(text: str) -> str:
    """SQuAD-style normalisation (lower case, no punctuation, no articles, single spaces)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def domain_of_text(problem: str) -> str | None:
    for domain, cue in DOMAIN_CUES.items():
        if cue in (problem or ""):
            return domain
    return None


class UnknownDomain(ValueError):
    """A sample whose domain neither its ``domain`` field nor its prompt reveals."""


class DomainMatch(Reward):
    """DISCO's binary base reward, one rule per domain (``reward_func.py``):

    * math: the extracted answer equals the extracted ground truth;
    * arc:  the last standalone letter A-H equals the label;
    * nq:   some normalised alias (``;``-separated) is a substring of the normalised output;
    * imdb: the last "Positive"/"Negative" (either case) equals the label.

    The domain is ``Sample.domain`` when it names a rule, else it is recognised from the
    prompt text by the official cue phrases (`DOMAIN_CUES`). A sample with neither is an
    error (`UnknownDomain`, one clear line in the result's ``error``), not a silent guess: in
    a verl run, give each row ``extra_info.domain`` (math / arc / nq / imdb) or the official
    prompt in ``extra_info.problem``. ``fallback_rule`` names a rule to use instead.
    """

    info_keys = ("correct",)

    def __init__(self, fallback_rule: str | None = None, name: str = "") -> None:
        if fallback_rule is not None and fallback_rule not in DOMAIN_CUES:
            raise ValueError(f"fallback_rule must be one of {sorted(DOMAIN_CUES)} or None")
        self.fallback_rule, self.name = fallback_rule, name or "disco.domain_match"

    def rule_for(self, sample: Sample) -> str | None:
        if sample.domain in DOMAIN_CUES:
            return sample.domain
        return domain_of_text(sample.problem) or self.fallback_rule

    def score_one(self, sample: Sample) -> RewardResult:
        rule = self.rule_for(sample)
        if rule is None:
            raise UnknownDomain(
                f"disco: no domain for this sample (domain {sample.domain!r} names no rule and the problem text "
                f"holds none of the official cue phrases {sorted(DOMAIN_CUES.values())}); set extra_info.domain "
                "to math/arc/nq/imdb or pass the official prompt as extra_info.problem"
            )
        ok = check(rule, sample.response, sample.ground_truth)
        return RewardResult(float(ok), {"correct": ok})


def check(rule: str, response: str, label: Any) -> bool:
    """One domain's binary check (see `DomainMatch`)."""
    text = response if isinstance(response, str) else ""
    gt = "" if label is None else str(label)
    if rule == "math":  # the official extract_math_answer on both sides (r1repro_disco.mathrule)
        return official_math_match(text, gt)
    if rule == "arc":
        letters = _LETTER.findall(text[-20_000:])
        return bool(letters) and letters[-1] == gt.strip()
    if rule == "nq":
        norm = normalize_text(text[-20_000:])
        aliases = [normalize_text(a) for a in gt.split(";")]
        return any(a and a in norm for a in aliases)
    if rule == "imdb":
        found = _SENTIMENT.findall(
            text[-20_000:].replace("negative", "Negative").replace("positive", "Positive")
        )
        return bool(found) and found[-1] == gt.strip()
    raise ValueError(f"unknown rule {rule!r}")
