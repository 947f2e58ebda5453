"""TAPO's thought-template library (Wu et al., arXiv 2505.15692, §3.1–3.2; v5 "TemplateRL").

A **thought template** is a sequence of high-level *actions*, stored with the mean **PCC**
(problem condition complexity: the number of conditions a problem gives) of the problems it
was found on. The paper builds the library offline with MCTS over five actions on 500 MATH
seed problems (UCT selection, self-consistency early stop, reward = majority-vote confidence,
best path by ``b·R − (1−b)·#actions`` with b = 0.95, `path_score`); it also allows
hand-written templates. A library is **data** (JSON in ``libraries/``):

    {"actions":   {"DC": "<instruction text>", "SR": ..., "SA": ..., "OST": ..., "CoT": ...},
     "templates": [{"id": "T1", "actions": ["SA", "OST", "CoT"], "pcc": 3.0}, ...]}

During RL, a question q retrieves the k templates with the smallest ``|PCC(q) − PCC_T|``
(`retrieve`), and each action's instruction text is injected before the step it guides.

Shipped libraries (both hand-written; the MCTS builder is not shipped, see README):
* ``math`` — instruction texts for competition math, for the paper-scale preset. The paper's
  action prompts are not reproduced verbatim (we could not read them): paraphrases, [unverified].
* ``ops`` — instruction texts and templates for the CPU task (`r1repro_tapo.data.OpsChainTask`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

ACTIONS: dict[str, str] = {
    "DC": "Divide-and-Conquer",
    "SR": "Self-Reflection",
    "SA": "System Analysis",
    "OST": "One-Step Thought",
    "CoT": "Chain-of-Thought",
}
"""The paper's five actions (§3.1), code -> name."""

PATH_WEIGHT_B = 0.95
"""b in the MCTS best-path criterion ``b·R − (1−b)·#actions`` (paper §3.1)."""


def path_score(reward: float, n_actions: int, b: float = PATH_WEIGHT_B) -> float:
    """The paper's best-path criterion for turning an MCTS path into a template (§3.1)."""
    return b * float(reward) - (1.0 - b) * int(n_actions)


@dataclass(frozen=True)
class ThoughtTemplate:
    id: str
    actions: tuple[str, ...]
    pcc: float

    @property
    def signature(self) -> str:
        return ">".join(self.actions)


def retrieve(templates: Sequence[ThoughtTemplate], pcc: float, k: int) -> list[ThoughtTemplate]:
    """The k templates closest to the question's PCC: ascending ``|PCC(q) − PCC_T|`` (paper §3.2).

    Ties keep library order (stable sort), so retrieval is deterministic.
    """
    if k <= 0 or not templates:
        return []
    order = sorted(range(len(templates)), key=lambda i: (abs(float(pcc) - templates[i].pcc), i))
    return [templates[i] for i in order[:k]]


@dataclass
class ThoughtLibrary:
    actions: dict[str, str]
    templates: list[ThoughtTemplate] = field(default_factory=list)
    name: str = ""

    def __post_init__(self) -> None:
        unknown = {a for t in self.templates for a in t.actions} - set(self.actions)
        if unknown:
            raise ValueError(f"library {self.name!r}: templates use actions without text: {sorted(unknown)}")
        ids = [t.id for t in self.templates]
        if len(ids) != len(set(ids)):
            raise ValueError(f"library {self.name!r}: duplicate template ids")

    def instruction(self, action: str) -> str:
        return self.actions[action]

    def retrieve(self, pcc: float, k: int) -> list[ThoughtTemplate]:
        return retrieve(self.templates, pcc, k)

    def by_id(self, template_id: str) -> ThoughtTemplate:
        for t in self.templates:
            if t.id == template_id:
                return t
        raise KeyError(template_id)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {"actions": dict(self.actions),
                "templates": [{"id": t.id, "actions": list(t.actions), "pcc": t.pcc} for t in self.templates]}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any], name: str = "") -> ThoughtLibrary:
        temps = [
            ThoughtTemplate(str(t["id"]), tuple(t["actions"]), float(t["pcc"])) for t in data["templates"]
        ]
        return cls(actions=dict(data["actions"]), templates=temps, name=name)

    @classmethod
    def load(cls, source: str | Path | dict[str, Any]) -> ThoughtLibrary:
        """A shipped library by name (``math``, ``ops``), a JSON file path, or a dict."""
        if isinstance(source, dict):
            return cls.from_dict(source)
        src = str(source)
        if "/" not in src and not src.endswith(".json"):
            text = resources.files("r1repro_tapo").joinpath("libraries", f"{src}.json").read_text()
            return cls.from_dict(json.loads(text), name=src)
        return cls.from_dict(json.loads(Path(src).read_text()), name=Path(src).stem)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")
