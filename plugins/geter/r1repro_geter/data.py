"""The explainable temporal reasoning (ETR) task of GETER, generated at CPU scale (arXiv 2505.15245, §3).

The paper builds ETR from temporal knowledge graphs (ICEWS14/18/05-15, GDELT, WIKI): a query quad
(e_s, r, e_o, t_q), the reasoning chains found by BFS over the quads in the window [t_q - w, t_q),
verbalised, a yes/no/unsure label (negatives swap e_o; "unsure" when the history does not decide)
and an explanation (refined by GPT-4o in the paper; template sentences here).

`TemporalKG` generates the quads: entities act under *causal patterns* ``r1 -> r2`` ("consult"
leads to "sign agreement" with the same partner a few days later) plus random noise events.
`ETRTask` turns them into instances:

* **yes** — a quad (s, r2, o, t) whose pattern cause (s, r1, o, t') lies in the window;
* **no** — the same query with the object swapped for another entity o' (the swapped-object
  negative): the window shows the cause with o, not with o';
* **unsure** — a query (s, r2, o, t) with no chain between s and o in the window.

`bfs_chains` finds every path of at most ``max_hops`` quads from e_s to e_o inside the window
(time-ordered along the path); `verbalise` renders a quad as "On day 12, Iran consulted Iraq.".
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar

from r1repro.components import GeneratedDataset, Template
from r1repro.types import Row

Quad = tuple[int, int, int, int]  # (subject, relation, object, time)

ENTITIES = ("Iran", "Iraq", "China", "Japan", "France", "Germany", "Brazil", "Kenya", "India", "Egypt",
            "Chile", "Norway", "Spain", "Peru", "Ghana", "Nepal")  # fmt: skip
RELATIONS = ("consult", "sign an agreement with", "criticize", "threaten", "host a visit of", "make a visit to",
             "provide aid to", "express intent to cooperate with")  # fmt: skip
PATTERNS = ((0, 1), (2, 3), (4, 5), (7, 6))
"""Cause -> effect relation pairs of the generator (indices into RELATIONS)."""
PAST = {"consult": "consulted", "sign an agreement with": "signed an agreement with", "criticize": "criticized",
        "threaten": "threatened", "host a visit of": "hosted a visit of", "make a visit to": "made a visit to",
        "provide aid to": "provided aid to", "express intent to cooperate with": "expressed intent to cooperate with"}  # fmt: skip
LABELS = ("yes", "no", "unsure")


def verbalise(q: Quad) -> str:
    s, r, o, t = q
    return f"On day {t}, {ENTITIES[s]} {PAST[RELATIONS[r]]} {ENTITIES[o]}."


@dataclass
class TemporalKG:
    quads: list[Quad]
    num_entities: int
    num_relations: int

    @classmethod
    def generate(cls, seed: int, days: int = 120, events_per_day: int = 4, lag: tuple[int, int] = (1, 4),
                 follow: float = 0.8) -> TemporalKG:  # fmt: skip
        """Random cause events; each is followed by its effect after ``lag`` days with prob ``follow``."""
        rng = random.Random(seed)
        quads: set[Quad] = set()
        for t in range(days):
            for _ in range(events_per_day):
                s, o = rng.sample(range(len(ENTITIES)), 2)
                if rng.random() < 0.75:
                    cause, effect = rng.choice(PATTERNS)
                    quads.add((s, cause, o, t))
                    if rng.random() < follow and t + lag[1] < days:
                        quads.add((s, effect, o, t + rng.randint(*lag)))
                else:  # noise
                    quads.add((s, rng.randrange(len(RELATIONS)), o, t))
        return cls(sorted(quads, key=lambda q: (q[3], q)), len(ENTITIES), len(RELATIONS))


def bfs_chains(quads: list[Quad], s: int, o: int, t_q: int, window: int, max_hops: int = 2,
               max_chains: int = 4) -> list[list[Quad]]:  # fmt: skip
    """Paths of quads from ``s`` to ``o`` with times in [t_q - window, t_q), non-decreasing along
    the path; shortest first (breadth-first), at most ``max_chains``."""
    adj: dict[int, list[Quad]] = defaultdict(list)
    for q in quads:
        if t_q - window <= q[3] < t_q:
            adj[q[0]].append(q)
    found: list[list[Quad]] = []
    frontier: list[list[Quad]] = [[q] for q in adj[s]]
    for _ in range(max_hops):
        nxt = []
        for path in frontier:
            last = path[-1]
            if last[2] == o:
                found.append(path)
                if len(found) >= max_chains:
                    return found
                continue
            for q in adj[last[2]]:
                if q[3] >= last[3] and q[2] != s and q not in path:
                    nxt.append(path + [q])
        frontier = nxt
    return found


def explanation(label: str, query: Quad, chains: list[list[Quad]], swapped_from: int | None = None) -> str:
    """The template explanation of an instance (the paper's are GPT-4o-refined)."""
    s, r, o, t = query
    if label == "yes":
        cause = chains[0][0] if chains else None
        why = f" {verbalise(cause)[:-1]}, which usually leads to this." if cause else ""
        return f"Yes. {ENTITIES[s]} is likely to {RELATIONS[r]} {ENTITIES[o]} on day {t}.{why}"
    if label == "no":
        other = ENTITIES[swapped_from] if swapped_from is not None else "another country"
        return f"No. The recent events point to {other}, not {ENTITIES[o]}, as {ENTITIES[s]}'s partner."
    return f"Unsure. No recent event links {ENTITIES[s]} and {ENTITIES[o]}."


def query_text(query: Quad) -> str:
    s, r, o, t = query
    return f"Will {ENTITIES[s]} {RELATIONS[r]} {ENTITIES[o]} on day {t}?"


def chains_text(chains: list[list[Quad]]) -> str:
    if not chains:
        return "No reasoning chain was found."
    return "\n".join(f"Chain {i + 1}: " + " ".join(verbalise(q) for q in c) for i, c in enumerate(chains))


class ETRTask(GeneratedDataset):
    """Generated ETR instances (see the module docstring). Options: ``window`` (days, 6),
    ``max_hops`` (2), ``days`` (120). ``extra`` carries the query and subgraph quads (ids) for
    the graph token, the chains, the label and the reference explanation."""

    sizes: ClassVar[dict[str, int]] = {"train": 900, "test": 150, "sft": 900}

    def __init__(self, window: int = 6, max_hops: int = 2, days: int = 120, name: str = "") -> None:
        self.window, self.max_hops, self.days = int(window), int(max_hops), int(days)
        self.name = name or "geter.etr"

    def kg(self, seed: int) -> TemporalKG:
        return TemporalKG.generate(seed, days=self.days)

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        graph = self.kg(seed)
        effects = {e for _, e in PATTERNS}
        cause_of = {e: c for c, e in PATTERNS}
        pos = [q for q in graph.quads if q[1] in effects and q[3] >= self.window]
        present = set((s, r, o, t) for s, r, o, t in graph.quads)
        rows: list[Row] = []
        attempts = 0
        while len(rows) < n and attempts < 50 * n:
            attempts += 1
            label = LABELS[len(rows) % 3]
            s, r, o, t = rng.choice(pos)
            lo = t - self.window
            has_cause = any(q[:3] == (s, cause_of[r], o) and lo <= q[3] < t for q in graph.quads)
            swapped = None
            if label == "yes":
                if not has_cause:
                    continue
                query = (s, r, o, t)
            elif label == "no":
                if not has_cause:
                    continue
                o2 = rng.choice([e for e in range(graph.num_entities) if e not in (s, o)])
                if (s, r, o2, t) in present or bfs_chains(graph.quads, s, o2, t, self.window, self.max_hops):
                    continue
                query, swapped = (s, r, o2, t), o
            else:
                o2 = rng.choice([e for e in range(graph.num_entities) if e != s])
                if bfs_chains(graph.quads, s, o2, t, self.window, self.max_hops):
                    continue
                query = (s, r, o2, t)
            # chains: to the queried object; for a swapped negative, the evidence about the true one
            target = swapped if swapped is not None else query[2]
            chains = bfs_chains(graph.quads, s, target, t, self.window, self.max_hops)
            sub = sorted({q for c in chains for q in c})
            rows.append(Row(
                id=f"geter-etr-{split}-{seed}-{len(rows)}", problem=query_text(query) + "\n" + chains_text(chains),
                ground_truth=label, data_source="r1repro/geter_etr", domain="temporal",
                extra={"query": list(query), "subgraph": [list(q) for q in sub], "chains": chains_text(chains),
                       "question": query_text(query), "explanation": explanation(label, query, chains, swapped)},
            ))  # fmt: skip
        if len(rows) < n:
            raise RuntimeError(f"ETR generator found only {len(rows)} of {n} instances; raise days")
        return rows

    def solution(self, row: Row, template: Template) -> str:
        return str(row.extra["explanation"])
