"""StepSearch's rewards (arXiv 2505.15107 §3.2-3.3), as the official ``qa_step.py`` computes them.

    final  = F1(answer, aliases) + 0.618 * SK          if the response ends with its last <answer>
           = -1 (and no step rewards)                   otherwise
    s_t    = 0.6 * (IG_t - RP_t)                        on the </search> token of search step t
    IG_t   = 1/m sum_j max(c_t(j) - M_{t-1}(j), 0),     c_t(j) = max_r cos_tfidf(r, d_j)
    RP_t   = share of step t's documents already seen

Where each piece lives (official file:line in `r1repro_stepsearch.constants` and below):
normalisation and F1 (`normalize_answer`, `token_f1`: qa_step.py:10-24, 69-104), the format gate
(`ends_with_last_answer`: :155-173), search-key coverage (`search_key_coverage`: :176-216),
TF-IDF cosines refit on every call (`tfidf_cosines`: submodule.py:5-36), IG and RP
(`gain_and_redundancy`: qa_step.py:106-153), the combination (`score_episode`: :218-275) and the
placement on tokens (main_ppo.py:94, 97, 119-131).

What the reward reads: the model's own text and the documents the retriever returned, kept
apart. In the local engine the multi-turn rollout records each turn as
``meta["turns"] = [{"policy": text, "observation": text, "end": offset}]``, so searches and the
answer are read from policy text only and step rewards go exactly on the last token of the turn
that ended with ``</search>`` (the official code re-tokenises a decoded prefix, +-1 token).
Without turns (a verl reward worker sees only the decoded response) the official regexes run on
the whole text, as the official code does.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from r1repro.components import Reward
from r1repro.types import RewardResult, Sample
from r1repro_stepsearch.constants import (
    F1_DECIMALS,
    FORMAT_FAIL_SCORE,
    SEARCH_KEY_WEIGHT,
    STEP_REWARD_SCALE,
)

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_SEARCH = re.compile(r"<search>(.*?)</search>", re.DOTALL)
_SEARCH_THEN_INFO = re.compile(r"<search>.*?</search>\s*<information>(.*?)</information>", re.DOTALL)
_INFO = re.compile(r"<information>(.*?)</information>", re.DOTALL)


# ------------------------------------------------------------------- text primitives
def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, drop punctuation, drop a/an/the, squeeze spaces."""
    text = str(text).lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str | None, golden: str | Sequence[str]) -> float:
    """Token F1 after normalisation, max over the gold aliases, rounded to 4 decimals."""
    if prediction is None:
        return 0.0
    pred = normalize_answer(prediction).split()
    best = 0.0
    for gold in [golden] if isinstance(golden, str) else list(golden):
        ref = normalize_answer(gold).split()
        overlap = sum((Counter(pred) & Counter(ref)).values())
        if overlap == 0:
            continue
        p, r = overlap / len(pred), overlap / len(ref)
        best = max(best, 2 * p * r / (p + r))
    return round(best, F1_DECIMALS)


def exact_match(prediction: str | None, golden: str | Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised alias (Search-R1's ``em_check``)."""
    if prediction is None:
        return 0.0
    pred = normalize_answer(prediction)
    golds = [golden] if isinstance(golden, str) else list(golden)
    return float(any(normalize_answer(g) == pred for g in golds))


def last_answer(text: str) -> str | None:
    """The stripped content of the last ``<answer>...</answer>`` (None without one)."""
    found = _ANSWER.findall(text or "")
    return found[-1].strip() if found else None


def ends_with_last_answer(text: str) -> bool:
    """The format gate: a last ``<answer>...</answer>`` exists and only whitespace follows it."""
    found = list(_ANSWER.finditer(text or ""))
    return bool(found) and not text[found[-1].end() :].strip()


def doc_contents(information: str) -> list[str]:
    """The documents of one ``<information>`` block: the text after each ``##>`` up to the next ``<##``."""
    return [part.split("<##")[0].strip() for part in information.strip().split("##>")[1:]]


def tfidf_cosines(doc: str, gold_docs: Sequence[str]) -> list[float]:
    """cos(tfidf(doc), tfidf(gold_j)) with a `TfidfVectorizer` (sklearn defaults) fit on [doc] + golds.

    Refitting per call is what the official ``subm_tfidf_cosine`` does, so the idf of a word
    depends on the documents of this one comparison. An empty ``doc`` scores 0; a corpus with no
    word of two or more characters (sklearn's "empty vocabulary") scores 0 instead of raising.
    """
    if doc == "" or not gold_docs:
        return [0.0] * len(gold_docs)
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    try:
        mat = TfidfVectorizer().fit_transform([doc, *gold_docs])
    except ValueError:
        return [0.0] * len(gold_docs)
    sims = cosine_similarity(mat[0], mat[1:]).flatten()
    return [max(float(s), 0.0) for s in sims]


def gain_and_redundancy(
    steps: Sequence[Sequence[str]], gold_docs: Sequence[Any]
) -> tuple[list[float], list[float]]:
    """IG_t and RP_t for every search step (documents per step, in order).

    ``gold_docs`` are strings or dicts with ``paragraph_text`` (the dataset's ``sub_support_docs``).
    No gold documents -> no step scores at all (the official early return: test rows).
    Redundancy compares the raw document text; a repeat inside the same step counts too.
    """
    if not gold_docs:
        return [], []
    golds = [normalize_answer(g["paragraph_text"] if isinstance(g, dict) else g) for g in gold_docs]
    best_so_far = [0.0] * len(golds)
    gains = []
    for docs in steps:
        now = [0.0] * len(golds)
        for d in docs:
            for j, c in enumerate(tfidf_cosines(normalize_answer(d), golds)):
                now[j] = max(now[j], c)
        gains.append(sum(max(now[j] - best_so_far[j], 0.0) for j in range(len(golds))) / len(golds))
        best_so_far = [max(a, b) for a, b in zip(now, best_so_far)]
    penalties, seen = [], set()
    for docs in steps:
        pen = 0.0
        for d in docs:
            if d in seen:
                pen += 1 / len(docs)
            else:
                seen.add(d)
        penalties.append(pen)
    return gains, penalties


def search_key_coverage(searches: Sequence[str], key_groups: Sequence[Sequence[str]]) -> float:
    """SK: each query's best F1 goes to its best-matching key group (a later query overwrites an
    earlier one's score for the same group); the mean over groups."""
    groups = [list(g) for g in key_groups or []]
    if not searches or not groups:
        return 0.0
    credit = {i: 0.0 for i in range(len(groups))}
    for q in searches:
        best, best_group = 0.0, -1
        for i, g in enumerate(groups):
            f = token_f1(q, g)
            if f > best:
                best, best_group = f, i
        credit[best_group] = best  # a query matching nothing writes 0 into a dummy slot
    return sum(credit.values()) / len(groups)


# ------------------------------------------------------------------- episodes
@dataclass
class SearchStep:
    query: str
    docs: list[str]
    end: int | None = None  # response-token offset of the step's </search> token, when known


@dataclass
class Episode:
    """What the reward reads from one rollout: the model's text and its search steps."""

    policy_text: str
    searches: list[str]
    steps: list[SearchStep] = field(default_factory=list)  # searches answered with <information>


def episode_of(sample: Sample) -> Episode:
    """Split a rollout into the model's text and the retrieved documents (see the module doc)."""
    turns = (sample.meta or {}).get("turns")
    if turns:
        policy, searches, steps = [], [], []
        for t in turns:
            text = str(t.get("policy", ""))
            policy.append(text)
            queries = [q.strip() for q in _SEARCH.findall(text)]
            searches += queries
            info = _INFO.search(str(t.get("observation") or ""))
            if queries and info is not None:
                steps.append(SearchStep(queries[-1], doc_contents(info.group(1)), t.get("end")))
        return Episode("".join(policy), searches, steps)
    text = sample.response or ""
    steps = [SearchStep("", doc_contents(m.group(1))) for m in _SEARCH_THEN_INFO.finditer(text)]
    return Episode(text, [q.strip() for q in _SEARCH.findall(text)], steps)


def gold_of(sample: Sample) -> tuple[list[str], list[list[str]], list[Any]]:
    """(answer aliases, search-key groups, support documents) of a sample's row."""
    gt = sample.ground_truth
    if isinstance(gt, dict):
        target = gt.get("target", [])
        keys = gt.get("search_keys") or []
    else:
        target, keys = gt, []
    target = [target] if isinstance(target, str) else [str(t) for t in (target or [])]
    docs = (sample.extra or {}).get("support_docs") or []
    return target, [list(k) for k in keys], list(docs)


@dataclass
class StepSearchScore:
    final: float
    answer_f1: float
    search_key_score: float
    step_scores: list[float]  # IG - RP per search step (before the 0.6 scale)
    gains: list[float]
    penalties: list[float]
    format_ok: bool


def score_episode(ep: Episode, target: Sequence[str], keys: Sequence[Sequence[str]], support_docs: Sequence[Any],
                  *, step_rewards: bool = True, information_gain: bool = True, redundancy_penalty: bool = True,
                  search_key_reward: bool = True, search_key_weight: float = SEARCH_KEY_WEIGHT) -> StepSearchScore:  # fmt: skip
    """The official ``compute_score_f1_steps_plan_with_support_docs`` with its ``trainer.*`` switches."""
    answer = last_answer(ep.policy_text)
    f1 = token_f1(answer, list(target))
    if not ends_with_last_answer(ep.policy_text):
        return StepSearchScore(FORMAT_FAIL_SCORE, f1, 0.0, [], [], [], False)
    gains, pens = gain_and_redundancy([s.docs for s in ep.steps], support_docs)
    steps = [
        (g if information_gain and step_rewards else 0.0)
        - (p if redundancy_penalty and step_rewards else 0.0)
        for g, p in zip(gains, pens)
    ]
    sk = search_key_coverage(ep.searches, keys) if keys else 0.0
    final = f1 + (search_key_weight * sk if search_key_reward else 0.0)
    return StepSearchScore(final, f1, sk, steps, gains, pens, True)


# ------------------------------------------------------------------- rewards
class StepSearchReward(Reward):
    """StepSearch: F1 + 0.618 SK on the last token, 0.6 (IG - RP) on each search step's </search>."""

    description = "StepSearch (qa_step.py): F1 + 0.618*key coverage, step rewards 0.6*(IG - RP) at </search>"
    failure_score = FORMAT_FAIL_SCORE
    dense = True  # step rewards on the </search> tokens (token_rewards); verl: via the r1repro_sync trainer

    def __init__(self, step_rewards: bool = True, information_gain: bool = True, redundancy_penalty: bool = True,
                 search_key_reward: bool = True, search_key_weight: float = SEARCH_KEY_WEIGHT,
                 step_scale: float = STEP_REWARD_SCALE, name: str = "") -> None:  # fmt: skip
        self.name = name or "stepsearch.step"
        self.switches = dict(step_rewards=step_rewards, information_gain=information_gain,
                             redundancy_penalty=redundancy_penalty, search_key_reward=search_key_reward,
                             search_key_weight=search_key_weight)  # fmt: skip
        self.step_scale = step_scale

    def score_one(self, sample: Sample) -> RewardResult:
        ep = episode_of(sample)
        target, keys, docs = gold_of(sample)
        s = score_episode(ep, target, keys, docs, **self.switches)
        token_rewards = [
            (st.end, self.step_scale * v)
            for st, v in zip(ep.steps, s.step_scores)
            if st.end is not None and v
        ]
        return RewardResult(s.final, describe(ep, s, target), token_rewards or None)


def describe(ep: Episode, s: StepSearchScore, target: Sequence[str]) -> dict[str, Any]:
    """The logged facts of one scored rollout (EM/F1, searches, redundancy, step scores)."""
    n_docs = sum(len(st.docs) for st in ep.steps)
    seen, repeats = set(), 0
    for st in ep.steps:
        for d in st.docs:
            repeats += d in seen
            seen.add(d)
    em = exact_match(last_answer(ep.policy_text), list(target)) if s.format_ok else 0.0
    return {
        "correct": bool(em),
        "em": em,
        "f1": s.answer_f1 if s.format_ok else 0.0,
        "format_ok": s.format_ok,
        "search_key_score": s.search_key_score,
        "searches": len(ep.searches),
        "redundancy_rate": repeats / n_docs if n_docs else 0.0,
        "information_gain": sum(s.gains),
        "step_score_sum": sum(s.step_scores),
    }


class GlobalOnlyReward(StepSearchReward):
    """The paper's ablation: StepSearch's final reward (F1 + 0.618 SK) without step rewards."""

    description = "StepSearch without step rewards: F1 + 0.618*key coverage on the last token only"

    def __init__(self, name: str = "", **kw: Any) -> None:
        super().__init__(step_rewards=False, name=name or "stepsearch.global", **kw)


class OutcomeEM(Reward):
    """Search-R1's outcome reward: 1 when the last answer matches an alias exactly, else 0
    (PeterGriffinJin/Search-R1 ``qa_em.compute_score_em``, ``format_score=0``)."""

    description = "Search-R1 outcome reward: exact match of the last <answer> (1/0), no step rewards"

    def __init__(self, name: str = "") -> None:
        self.name = name or "stepsearch.outcome_em"

    def score_one(self, sample: Sample) -> RewardResult:
        ep = episode_of(sample)
        target, keys, docs = gold_of(sample)
        s = score_episode(ep, target, keys, docs, step_rewards=False)
        em = exact_match(last_answer(ep.policy_text), target)
        info = describe(ep, s, target)
        info["em"], info["correct"] = em, bool(em)
        return RewardResult(em, info)


def step_positions_from_text(response: str, tokenizer) -> list[int]:
    """Response-token offsets of the ``</search>`` of every search answered with ``<information>``,
    found as the official reward manager finds them (main_ppo.py:119-131): the character end of each
    ``</search>``, the decoded prefix up to it re-tokenised, minus one. For a reward manager that
    has only decoded text and a tokenizer (verl's path); exact up to tokenisation boundaries."""
    ends = [
        m.start() + m.group().find("</search>") + len("</search>")
        for m in _SEARCH_THEN_INFO.finditer(response)
    ]
    return [len(tokenizer.encode(response[:e], add_special_tokens=False)) - 1 for e in ends]
