"""Datasets: the paper's NOVEReason data (hub / the official CSVs) and a generated CPU task.

**Paper data** (`NoveReason`): ``thinkwee/NOVEReason_2k`` on the hub (the version used in
the paper: 2,000 training rows per large sub-dataset; fields ``question``, ``reference``,
``source_dataset`` ...), or the official repo's ``dataset/<name>.csv`` files (columns
``prompt`` with the NOVER prompt already applied, ``reference``, ``split``) placed in
``$R1REPRO_DATA_DIR/nover/``. The repo has no licence, so nothing is vendored here.

**CPU task** (`FactsTask`): two-hop questions about a small fixed world the model has to
know (its facts are not in the prompt), with free-form references:

    Where does Bo's pet live?      reasoning: "Bo has a fox. The fox is in Oslo."
                                   reference: "It is in Oslo."   (or "Oslo", "in Oslo", ...)

32 people each own one of 8 pets; each pet lives in one of 8 cities. Half of the people are
*seen* (RL and SFT train on questions about them), half *unseen* (only the warm start, which
plays the pretrained model, was trained on them). Every pet has seen and unseen owners, so
the second hop is shared. The reference's likelihood depends on the reasoning (after "The fox
is in Oslo" the proxy expects Oslo), which is what NOVER's reward reads; references come in
five surface forms, so exact match is no checker. `FactsChecker` (held out, never used for
NOVER's training) reads which city the answer names. Evaluation rows carry the domain
``seen`` / ``unseen``, so accuracy is reported on both.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path
from typing import Any, ClassVar

from r1repro.components import Dataset, DatasetUnavailable, GeneratedDataset, Reward, Template, data_dirs
from r1repro.types import RewardResult, Row, Sample
from r1repro_nover.templates import first_block

PEOPLE = tuple(c + v for c in "BDGKLMNPRST" for v in "aeiou")[:32]
PETS = ("cat", "dog", "fox", "owl", "bee", "ant", "cow", "eel")
PLACES = ("Rome", "Oslo", "Lima", "Bern", "Doha", "Riga", "Kyiv", "Baku")
QUESTION_FORMS = ("Where is the pet of {person}?", "Where does {person}'s pet live?",
                  "{person} has a pet. Where is it?")  # fmt: skip
REFERENCE_FORMS = (
    "{place}",
    "in {place}",
    "It is in {place}.",
    "The {pet} is in {place}.",
    "{person}'s pet is in {place}.",
)
SOLUTION_STYLES = ("reasoning", "reference")
PERSON_SETS = ("seen", "unseen", "all")


def world(seed: int = 0) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(owner -> pet, pet -> place, owner -> "seen"/"unseen") of the fixed world."""
    rng = random.Random(seed)
    people = list(PEOPLE)
    rng.shuffle(people)
    seen, unseen = people[: len(people) // 2], people[len(people) // 2 :]
    owner: dict[str, str] = {}
    for group in (seen, unseen):  # every pet gets owners in both halves
        pets = [PETS[i % len(PETS)] for i in range(len(group))]
        rng.shuffle(pets)
        owner.update(zip(group, pets))
    places = list(PLACES)
    rng.shuffle(places)
    return owner, dict(zip(PETS, places)), {p: ("seen" if p in seen else "unseen") for p in people}


class FactsTask(GeneratedDataset):
    """Two-hop questions about a fixed world, free-form references (see the module docstring).

    Options: ``persons`` ("seen" / "unseen" / "all"; default: seen for ``train``, all
    otherwise), ``solution_style`` for SFT: "reasoning" (the gold reasoning + reference: the
    warm start) or "reference" (empty reasoning + reference: plain SFT on the question /
    reference pairs NOVER trains on), ``world_seed``.
    """

    sizes: ClassVar[dict[str, int]] = {"train": 2000, "test": 96, "sft": 2000}

    def __init__(self, persons: str | None = None, solution_style: str = "reasoning", world_seed: int = 0,
                 name: str = "") -> None:  # fmt: skip
        if solution_style not in SOLUTION_STYLES:
            raise ValueError(f"solution_style must be one of {SOLUTION_STYLES}, got {solution_style!r}")
        if persons is not None and persons not in PERSON_SETS:
            raise ValueError(f"persons must be one of {PERSON_SETS}, got {persons!r}")
        self.persons, self.solution_style, self.world_seed = persons, solution_style, world_seed
        self.name = name or "nover.facts"

    def people(self, split: str) -> list[str]:
        which = self.persons or ("seen" if split == "train" else "all")
        _, _, group = world(self.world_seed)
        return [p for p in PEOPLE if which == "all" or group[p] == which]

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        owner, place_of, group = world(self.world_seed)
        people = self.people(split)
        rng = random.Random(seed)
        combos = [(p, f) for f in range(len(QUESTION_FORMS)) for p in people]
        if split == "test":  # every (person, question form) once, in a fixed shuffled order
            random.Random(12345).shuffle(combos)
        rows = []
        for i in range(n):
            person, form = (
                combos[i % len(combos)]
                if split == "test"
                else (rng.choice(people), rng.randrange(len(QUESTION_FORMS)))
            )
            pet = owner[person]
            place = place_of[pet]
            reference = rng.choice(REFERENCE_FORMS).format(place=place, pet=pet, person=person)
            rows.append(Row(
                id=f"nover-facts-{split}-{seed}-{i}",
                problem=QUESTION_FORMS[form].format(person=person),
                ground_truth=reference,
                data_source="r1repro/nover_facts",
                domain=group[person],
                extra={"answer": place, "person": person, "pet": pet,
                       "reasoning": f"{person} has a {pet}. The {pet} is in {place}."},
            ))  # fmt: skip
        return rows

    def solution(self, row: Row, template: Template) -> str:
        think = row.extra["reasoning"] if self.solution_style == "reasoning" else ""
        return template.format_response(answer=str(row.ground_truth), think=think)


def mentioned_places(text: str) -> set[str]:
    return {p for p in PLACES if re.search(rf"\b{p}\b", text or "")}


class FactsChecker(Reward):
    """Held-out oracle for `FactsTask`: correct iff the answer names the right city and no
    other. Reads the ``<answer>`` block when there is one, else the whole response. Used only
    to *measure* accuracy (and as the reward of the optional verifier-based upper bound)."""

    info_keys: ClassVar[tuple[str, ...]] = ("correct", "answered")

    def __init__(self, answer_tag: str = "answer", name: str = "") -> None:
        self.answer_tag, self.name = answer_tag, name or "nover.facts_checker"

    def score_one(self, sample: Sample) -> RewardResult:
        text = sample.response or ""
        if f"</{self.answer_tag}>" in text:
            text = first_block(text, self.answer_tag)
        truth = (sample.extra or {}).get("answer")
        named = mentioned_places(text[:10_000])
        ok = truth is not None and named == {truth}
        return RewardResult(float(ok), {"correct": ok, "answered": bool(named)})


# ----------------------------------------------------------------------------- paper data
QUESTION_RE = re.compile(
    r"Question:\s*(.*?)\n\s*\nAnswer the question and return in the following format", re.S
)


class NoveReason(Dataset):
    """NOVEReason (the paper's data): ``thinkwee/NOVEReason_2k`` or the official CSV files.

    Options: ``source`` filters the hub rows by ``source_dataset`` (the value names of the
    seven sub-datasets are [unverified]: check the hub card); ``csv`` names an official CSV
    (``gt``, ``nr``, ``webit``, ``emobench``, ``tombench``, ``opus_books_all_pairs``) looked up
    as ``nover/<csv>.csv`` in the data folders.
    """

    hub_id: ClassVar[str] = "thinkwee/NOVEReason_2k"
    domain: ClassVar[str] = "general"

    def __init__(self, source: str | None = None, csv: str | None = None, name: str = "") -> None:
        self.source, self.csv_name = source, csv
        self.name = name or "nover.novereason"

    def records(self, split: str = "train") -> list[dict[str, Any]]:
        if self.csv_name:
            for d in data_dirs():
                path = Path(d) / "nover" / f"{self.csv_name}.csv"
                if path.is_file():
                    with path.open(newline="", encoding="utf-8") as f:
                        rows = [r for r in csv.DictReader(f) if r.get("split", split) == split]
                    return rows
        recs = super().records(split)
        wanted = self.source or self.csv_name  # one sub-dataset per run (paper Table 1), never all of them
        if wanted:
            recs = [r for r in recs if r.get("source_dataset") == wanted]
            if not recs:
                raise DatasetUnavailable(
                    f"dataset '{self.name}': no local nover/{self.csv_name}.csv and no hub rows with "
                    f"source_dataset == {wanted!r}; put the official CSV in $R1REPRO_DATA_DIR/nover/ "
                    "or name the hub's value with source="
                )
        return recs

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        question = record.get("question")
        if not question:
            m = QUESTION_RE.search(record.get("prompt", ""))
            question = m.group(1).strip() if m else str(record.get("prompt", "")).strip()
        source = record.get("source_dataset") or self.csv_name or self.source or "novereason"
        return Row(
            id=str(record.get("id", f"{source}-{split}-{index}")),
            problem=question,
            ground_truth=str(record.get("reference", "")),
            data_source=f"nover/{source}",
            domain=str(record.get("subject") or "general"),
            extra={k: record[k] for k in ("options", "type", "label") if record.get(k) not in (None, "")},
        )

    def fixture(self) -> list[Row]:
        return [
            Row(id="nr-0", problem="Two 3.0 g bullets move at 40 m/s and 80 m/s. What is the ratio of "
                "their kinetic energies?", ground_truth="1:4", data_source="nover/fixture"),
            Row(id="eb-0", problem="Joe finally photographs the rare bird he waited months for. What does "
                "he feel?", ground_truth="Delight", data_source="nover/fixture"),
        ]  # fmt: skip
