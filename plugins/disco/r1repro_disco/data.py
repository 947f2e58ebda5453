"""Datasets: DISCO's imbalanced multi-domain sets (hub ids) and the CPU-scale task.

Paper scale: ``MoeReward/combined_rlhf_dataset_grpo_{metamath,arc,imdb,nq}_main`` (10K
prompts, 75% from the named domain and 1/12 from each other one; official README and
``train_grpo_qwen2.5_gt_domain_weight.sh``: ``--input_key prompt --label_key answer``).
The prompts are complete instructions; the domain is recognised from their wording.

CPU scale: `DomainFacts`, three fact tables with the paper domains' answer formats, 75% / 12.5% / 12.5%;
the majority domain's table is keyed by pairs of keys (289 entries), so it is not learnt to the ceiling.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from r1repro.components import Dataset, GeneratedDataset, Template
from r1repro.types import Row
from r1repro_disco.reward import domain_of_text

MAIN_DOMAINS = ("metamath", "arc", "imdb", "nq")


class DiscoMain(Dataset):
    """``MoeReward/combined_rlhf_dataset_grpo_<main>_main``: 75% ``main``, 1/12 each other domain."""

    def __init__(self, main: str = "arc", name: str = "") -> None:
        if main not in MAIN_DOMAINS:
            raise ValueError(f"main must be one of {MAIN_DOMAINS}, got {main!r}")
        self.main = main
        self.hub_id = f"MoeReward/combined_rlhf_dataset_grpo_{main}_main"  # type: ignore[misc]
        self.name = name or "disco.main"

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        prompt = str(record.get("prompt", ""))
        domain = domain_of_text(prompt) or "unknown"
        return Row(id=f"disco-{self.main}-{split}-{index}", problem=prompt, ground_truth=str(record.get("answer", "")),
                   data_source=f"disco/{domain}", domain=domain)  # fmt: skip

    def fixture(self) -> list[Row]:
        return [
            Row(id="disco-fixture-0", problem="Below is a math problem. Provide a detailed, step-by-step solution.\n\n"
                "What is 3 + 4?", ground_truth="7", data_source="disco/math", domain="math"),
            Row(id="disco-fixture-1", problem="Answer the question from the multiple-choice answers.\n\nWhich is a "
                "mammal? A. shark B. whale C. trout D. squid", ground_truth="B", data_source="disco/arc", domain="arc"),
            Row(id="disco-fixture-2", problem="Below is a movie review. Determine the sentiment of the review as "
                "Positive or Negative.\n\nA delight from start to end.", ground_truth="Positive",
                data_source="disco/imdb", domain="imdb"),
            Row(id="disco-fixture-3", problem="Give a concise and accurate answer.\n\nWho wrote Hamlet?",
                ground_truth="William Shakespeare;Shakespeare", data_source="disco/nq", domain="nq"),
        ]  # fmt: skip


# ------------------------------------------------------------------------------ CPU task
KEYS = tuple("bcdefhmnoprstwxyz")
"""The task's keys: letters the project tokenizer keeps as one token after a space."""
LETTERS = "ABCD"
SKILLS = ("arc", "math", "imdb", "nq")
TABLE_SEED = 2505_15074


def fact_tables(seed: int = TABLE_SEED) -> dict[str, dict[str, str]]:
    """Each skill's hidden table key -> answer (the task's "knowledge")."""
    rng = random.Random(seed)
    order = list(KEYS)
    rng.shuffle(order)
    nxt = {a: order[(i + 1) % len(order)] for i, a in enumerate(order)}
    return {
        "arc": {k: rng.choice(LETTERS) for k in KEYS},  # the option letter of the key's group
        "math": nxt,  # the key's successor, boxed
        "imdb": {k: rng.choice(("Positive", "Negative")) for k in KEYS},  # the key's polarity
        "nq": {b: a for a, b in nxt.items()},  # the key's predecessor
    }


PAIR_SKILLS = ("arc", "imdb")
"""Skills that can be keyed by a pair of keys (their answers are not an order on the keys)."""


def pair_tables(seed: int = TABLE_SEED) -> dict[str, dict[str, str]]:
    """Each pair skill's hidden table "k1 k2" -> answer: 17 x 17 = 289 entries, a harder
    table than the 17-entry ones (issue 10: the 17-entry majority table saturated)."""
    rng = random.Random(seed + 1)
    pairs = [f"{a} {b}" for a in KEYS for b in KEYS]
    return {
        "arc": {p: rng.choice(LETTERS) for p in pairs},
        "imdb": {p: rng.choice(("Positive", "Negative")) for p in pairs},
    }


def response_of(domain: str, answer: str) -> str:
    """How a response to ``domain`` states its answer (the format its base-reward rule reads)."""
    return {"arc": f"Answer: {answer}", "math": f"\\boxed{{{answer}}}", "imdb": answer, "nq": answer}[domain]


def problem_of(domain: str, key: str) -> str:
    return {
        "arc": f"multiple-choice answers: which of A B C D holds {key}?",
        "math": f"math problem: what comes after {key}?",
        "imdb": f"movie review: {key}. Positive or Negative?",
        "nq": f"concise and accurate answer: what comes before {key}?",
    }[domain]


class DomainFacts(GeneratedDataset):
    """Per-domain fact tables with the answer formats of DISCO's domains (CPU scale).

    Every prompt names one of 17 keys, or, in a ``pair_domains`` domain, a pair of them; the
    domain says which hidden table to consult and how to answer, in the format the paper's
    base reward reads for that domain:

    * ``arc`` (multiple choice): the letter A-D of the key (pair) (``Answer: B``);
    * ``math``: the key's successor in a fixed order, boxed (``\\boxed{d}``);
    * ``imdb``: the key's (pair's) polarity, ``Positive`` or ``Negative``;
    * ``nq`` (off by default: the substring rule accepts a listing of letters): its predecessor.

    ``shares`` sets the training mixture (default 75% arc, 12.5% math, 12.5% imdb);
    ``balanced_splits`` (default the test split) are drawn uniformly over domains so per-domain
    accuracy is measured on equal footing. SFT solutions are right with probability
    ``sft_accuracy`` (0.6; one number or per domain), use another domain's table (at the first
    key) and format with probability ``sft_format_error`` (0.4), and otherwise give a wrong
    answer in the right format (none by default: with wrong answers in the SFT data the 0.9M
    model did not learn the tables at all in 300 steps). The warm start thus mixes the skills'
    formats, and RL has a per-domain format to settle and facts to sharpen.

    ``pair_domains`` (default ``("arc",)``): the majority domain is keyed by pairs (289
    entries), which the warm start learns only in part and RL improves slowly, so its accuracy
    starts and stays away from the ceiling (issue 10: with 17 entries and 75% of the updates it
    reached 0.99 in every arm and "DISCO keeps the majority" was decided at the ceiling).
    """

    sizes = {"train": 4000, "test": 600, "sft": 4000}

    def __init__(self, shares: Mapping[str, float] | None = None, sft_accuracy: float | Mapping[str, float] = 0.6,
                 sft_format_error: float = 0.4, balanced_splits: tuple[str, ...] | list[str] = ("test",),
                 pair_domains: tuple[str, ...] | list[str] = ("arc",), table_seed: int = TABLE_SEED,
                 name: str = "") -> None:  # fmt: skip
        shares = dict(shares) if shares is not None else {"arc": 0.75, "math": 0.125, "imdb": 0.125}
        unknown = set(shares) - set(SKILLS)
        if unknown or len(shares) < 2:
            raise ValueError(f"shares must name at least two of {SKILLS}; got {sorted(shares)}")
        if not set(pair_domains) <= set(PAIR_SKILLS):
            raise ValueError(f"pair_domains must be among {PAIR_SKILLS}; got {sorted(pair_domains)}")
        self.domains = list(shares)
        self.shares = [float(shares[d]) for d in self.domains]
        acc = (
            sft_accuracy
            if isinstance(sft_accuracy, Mapping)
            else {d: float(sft_accuracy) for d in self.domains}
        )
        self.sft_accuracy = {d: float(acc.get(d, 0.6)) for d in self.domains}
        self.sft_format_error = float(sft_format_error)
        self.balanced_splits = tuple(balanced_splits)
        self.pair_domains = tuple(pair_domains)
        self.tables = fact_tables(table_seed)
        self.pairs = pair_tables(table_seed)
        self.name = name or "disco.domain_facts"

    def answer(self, domain: str, key: str) -> str:
        """The table entry of a key ("b") or, in a pair domain, of a pair ("b c")."""
        return (self.pairs if " " in key else self.tables)[domain][key]

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            if split in self.balanced_splits:
                domain = self.domains[i % len(self.domains)]
            else:
                domain = rng.choices(self.domains, weights=self.shares)[0]
            key = rng.choice(KEYS)
            keys = f"{key} {rng.choice(KEYS)}" if domain in self.pair_domains else key
            rows.append(
                Row(id=f"facts-{split}-{seed}-{i}", problem=problem_of(domain, keys),
                    ground_truth=self.answer(domain, keys), data_source=f"r1repro/facts_{domain}", domain=domain,
                    extra={"key": key, "keys": keys, "noise": rng.random(), "alt": rng.randrange(1 << 30)})
            )  # fmt: skip
        return rows

    def solution(self, row: Row, template: Template) -> str:
        """Right with probability ``sft_accuracy``; else, with probability ``sft_format_error``,
        another domain's table (at the first key) and format; else this domain's format with a
        wrong answer."""
        key, domain, u = row.extra["key"], row.domain, row.extra["noise"]
        acc = self.sft_accuracy[domain]
        right = self.answer(domain, row.extra.get("keys", key))
        if u < acc:
            return response_of(domain, right)
        if u < acc + self.sft_format_error:
            others = [d for d in self.domains if d != domain]
            other = others[row.extra["alt"] % len(others)]
            return response_of(other, self.tables[other][key])
        wrong = sorted(set(self.tables[domain].values()) - {right})
        return response_of(domain, wrong[row.extra["alt"] % len(wrong)])
