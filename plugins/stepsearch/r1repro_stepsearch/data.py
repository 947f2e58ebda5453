"""StepSearch data: the official MuSiQue-derived set and a generated multi-hop world for CPU.

``stepsearch.musi`` reads ``Zill1/StepSearch-musi-dataset`` (``musi_answerable_{train,dev}.jsonl``:
``question``, ``final_answer``, ``answer_aliases``, ``sub_searchs`` key groups,
``sub_support_docs``) into rows shaped like the official parquet (musi_search.py:65-95):
ground truth ``{"target": [answer, *aliases], "search_keys": key groups}`` and
``extra["support_docs"]``; the test split carries neither keys nor documents (answer-only reward).

``stepsearch.world`` is the CPU task. A seeded world of people, companies, cities and
countries; every fact is one short document, and every entity also has distractor documents
that share its name. A 2-hop question ("Which city is Kaso Miru's company in?") needs the
person's document to learn the company, then the company's document for the city; a 3-hop
question adds the city's country. Each row carries the gold key group and the support document
of every hop, so information gain and redundancy mean what they mean in the paper: the second
search pays only if it finds the next hop's document, and searching the same name twice
retrieves the same documents (redundancy 1). Train and test questions are about disjoint people.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Any, ClassVar

from r1repro.components import Dataset, DatasetUnavailable, GeneratedDataset, Template, data_dirs
from r1repro.retrieval import Doc
from r1repro.types import Row

HUB_ID = "Zill1/StepSearch-musi-dataset"
MUSI_FILES = {"train": "musi_answerable_train.jsonl", "test": "musi_answerable_dev.jsonl",
              "dev": "musi_answerable_dev.jsonl"}  # fmt: skip


# ------------------------------------------------------------------------- the official set
def musi_row(rec: dict[str, Any], index: int, split: str) -> Row:
    """One official record -> a Row (keys and support documents only outside the test split)."""
    from r1repro_stepsearch.templates import with_question_mark

    train = split == "train"
    target = [str(rec["final_answer"]), *[str(a) for a in rec.get("answer_aliases") or []]]
    return Row(
        id=f"musi_{split}_{index}",
        problem=with_question_mark(str(rec["question"])),
        ground_truth={"target": target, "search_keys": [list(k) for k in rec.get("sub_searchs") or []] if train else []},
        data_source="musi",
        domain="fact-reasoning",
        extra={"support_docs": list(rec.get("sub_support_docs") or []) if train else [],
               "hops": len(rec.get("sub_searchs") or []) or None},
    )  # fmt: skip


class MusiDataset(Dataset):
    """StepSearch's training set (MuSiQue + GPT-4o sub-questions), local copy or the hub."""

    description = (
        "StepSearch's MuSiQue-derived set with key groups and support docs (Zill1/StepSearch-musi-dataset)"
    )
    hub_id = HUB_ID
    local_files: ClassVar[dict[str, str]] = MUSI_FILES

    def records(self, split: str = "train") -> list[dict[str, Any]]:
        fname = MUSI_FILES.get(split)
        if fname is None:
            raise DatasetUnavailable(f"dataset 'stepsearch.musi' has no split '{split}' (train, dev/test)")
        for d in data_dirs():
            for path in (d / fname, d / "stepsearch" / fname):
                if path.is_file():
                    from r1repro.components import _read_records

                    return _read_records(path)
        try:
            import datasets

            return [dict(r) for r in datasets.load_dataset(HUB_ID, data_files={split: fname}, split=split)]
        except Exception as exc:  # noqa: BLE001
            raise DatasetUnavailable(
                f"dataset 'stepsearch.musi' split '{split}' is unavailable: no local '{fname}' in "
                f"{', '.join(str(d) for d in data_dirs())} and the hub ({HUB_ID}) failed: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            ) from None

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        return musi_row(record, index, "train" if split == "train" else "test")

    def fixture(self) -> list[Row]:
        rec = {
            "question": "Who founded the company that makes the Model T",
            "final_answer": "Henry Ford",
            "answer_aliases": ["Ford"],
            "sub_searchs": [["Model T manufacturer", "who made the Model T"], ["Ford Motor Company founder"]],
            "sub_support_docs": [
                {
                    "title": "Ford Model T",
                    "paragraph_text": "The Ford Model T was produced by Ford Motor Company.",
                },
                {
                    "title": "Ford Motor Company",
                    "paragraph_text": "Ford Motor Company was founded by Henry Ford.",
                },
            ],
        }
        return [musi_row(rec, 0, "train"), musi_row(rec, 1, "test")]


# ------------------------------------------------------------------------- the CPU world
_SYL = ["ka", "mi", "ro", "su", "te", "lo", "na", "vi", "do", "ra", "pe", "zu", "ba", "ni", "go", "fe"]
_COMPANY_SUFFIX = ["Works", "Labs", "Group", "Foods", "Motors"]
_COLORS = ["red", "blue", "green", "black", "white", "gold"]
_ANIMALS = ["cat", "dog", "horse", "fox", "owl", "bear"]


@dataclass
class World:
    """Entities, one fact document per relation, and distractor documents."""

    people: list[str]
    employer: dict[str, str]  # person -> company
    seat: dict[str, str]  # company -> city
    country: dict[str, str]  # city -> country
    docs: list[Doc]
    fact_doc: dict[tuple[str, str], Doc]  # (relation, subject) -> its gold document


def _names(rng: random.Random, n: int, syllables: int, taken: set[str]) -> list[str]:
    out = []
    while len(out) < n:
        name = "".join(rng.choice(_SYL) for _ in range(syllables)).capitalize()
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def _full_names(rng: random.Random, n: int, taken: set[str]) -> list[str]:
    """``n`` distinct "First Last" names of two syllables each (a first or last name may repeat,
    but never a pair in either order: BM25 cannot tell "Kaso Miru" from "Miru Kaso")."""
    out: list[str] = []
    while len(out) < n:
        first, last = ("".join(rng.choice(_SYL) for _ in range(2)).capitalize() for _ in range(2))
        if first != last and f"{first} {last}" not in taken and f"{last} {first}" not in taken:
            taken.add(f"{first} {last}")
            out.append(f"{first} {last}")
    return out


@functools.lru_cache(maxsize=8)
def make_world(seed: int = 0, n_people: int = 1000, n_companies: int = 16, n_cities: int = 8,
               n_countries: int = 4) -> World:  # fmt: skip
    """The seeded world shared by every split (the corpus is the same at train and test time).

    Many people (1000: 800 for training, 200 for testing), so that the warm start meets most of
    them once or never and must learn to copy a name out of the question or a document; with a
    few dozen it learns every training person's company by heart and cannot read a new one."""
    rng = random.Random(seed)
    taken: set[str] = set()
    people = _full_names(rng, n_people, taken)
    companies = [f"{n} {rng.choice(_COMPANY_SUFFIX)}" for n in _names(rng, n_companies, 2, taken)]
    cities = _names(rng, n_cities, 3, taken)
    countries = _names(rng, n_countries, 3, taken)
    employer = {p: rng.choice(companies) for p in people}
    seat = {c: rng.choice(cities) for c in companies}
    country = {c: countries[i % n_countries] for i, c in enumerate(cities)}
    docs, fact_doc = [], {}

    def add(title: str, text: str, key: tuple[str, str] | None = None) -> None:
        d = Doc(f"d{len(docs)}", title, text)
        docs.append(d)
        if key:
            fact_doc[key] = d

    for p in people:
        add(p, f"{p} works for {employer[p]}.", ("employer", p))
        add(p, f"{p} likes the color {rng.choice(_COLORS)}.")
        add(p, f"{p} has a pet {rng.choice(_ANIMALS)}.")
    for c in companies:
        add(c, f"{c} is based in the city of {seat[c]}.", ("seat", c))
        add(c, f"{c} has {rng.randint(2, 99)} workers.")
    for c in cities:
        add(c, f"{c} is a city in the country of {country[c]}.", ("country", c))
        add(c, f"{c} is a city with a {rng.choice(_COLORS)} bridge.")
    rng.shuffle(docs)
    return World(people, employer, seat, country, docs, fact_doc)


def world_question(world: World, person: str, hops: int) -> Row:
    """A 2- or 3-hop question about ``person`` with its key groups and support documents."""
    company = world.employer[person]
    city = world.seat[company]
    chain = [("employer", person), ("seat", company)] + ([("country", city)] if hops == 3 else [])
    keys = [[person, f"{person} works for"], [company, f"{company} city"]]
    if hops == 3:
        keys.append([city, f"{city} country"])
        question, answer = f"Which country is the company of {person} based in?", world.country[city]
    else:
        question, answer = f"Which city is the company of {person} based in?", city
    support = [{"title": world.fact_doc[k].title, "paragraph_text": world.fact_doc[k].text} for k in chain]
    return Row(
        id=f"world-{person.replace(' ', '_')}-{hops}",
        problem=question,
        ground_truth={"target": [answer], "search_keys": keys},
        data_source="stepsearch_world",
        domain=f"{hops}-hop",
        extra={"support_docs": support, "hops": hops, "hop_entities": [person, company, city][:hops]},
    )


class WorldDataset(GeneratedDataset):
    """The CPU multi-hop task (see the module doc). Train/test people are disjoint (80/20)."""

    description = "CPU task: 2-/3-hop questions over a generated world; BM25 corpus with distractors"
    sizes: ClassVar[dict[str, int]] = {"train": 2000, "test": 120, "sft": 2000}

    def __init__(
        self, world_seed: int = 0, three_hop_share: float = 0.5, topk: int = 2, name: str = ""
    ) -> None:
        self.world_seed, self.three_hop_share, self.topk = world_seed, three_hop_share, topk
        self.name = name or "stepsearch.world"

    @property
    def world(self) -> World:
        return make_world(self.world_seed)

    def people(self, split: str) -> list[str]:
        cut = int(0.8 * len(self.world.people))
        return self.world.people[cut:] if split in ("test", "validation") else self.world.people[:cut]

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        pool = self.people(split)
        rows = []
        for i in range(n):
            hops = 3 if rng.random() < self.three_hop_share else 2
            row = world_question(self.world, rng.choice(pool), hops)
            row.id = f"{row.id}-{split}{i}"
            rows.append(row)
        return rows

    def solution(self, row: Row, template: Template) -> list[tuple[str, bool]]:
        """A worked trajectory for the SFT warm start, as ``(text, trained)`` segments: search each
        hop with its key phrase ("<person> works for", "<company> city", "<city> country"), read
        the next entity from the retrieved documents, then answer.

        The observations are the real retrieval results (the same retriever and ``topk`` as the
        CPU preset's environment) and are segments with ``trained`` false: in the context, out of
        the SFT loss, as the RL rollout masks them (``state_masking``). Every entity a query names
        is in the question or in an earlier observation, so the warm start shows how to read the
        documents, not the answers (they differ for every person). The key phrase ranks the hop's
        fact document first; a bare name would tie it with the entity's distractors (BM25), and a
        worked trajectory would then search a company its observations never named."""
        env = self._solution_env()
        state = env.reset(row)
        out: list[tuple[str, bool]] = []
        for (_, query), gold in zip(row.ground_truth["search_keys"], row.extra["support_docs"]):
            action = f"<search> {query} </search>"
            obs = env.step(state, action).observation or ""
            if gold["paragraph_text"] not in obs:
                raise RuntimeError(
                    f"query {query!r} does not retrieve its fact document (world {self.world_seed})"
                )
            out += [(action, True), (obs, False)]
        return out + [(f"<answer> {row.ground_truth['target'][0]} </answer>", True)]

    def _solution_env(self):
        """One search environment (one BM25 index) for every worked trajectory of this dataset."""
        if getattr(self, "_env", None) is None:
            from r1repro_stepsearch.env import SearchEnvironment

            self._env = SearchEnvironment(corpus={"world_seed": self.world_seed}, topk=self.topk, max_turns=4)
        return self._env
