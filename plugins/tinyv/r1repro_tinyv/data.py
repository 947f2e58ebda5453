"""TinyV's datasets: the RL set, the verifier benchmark, and the CPU-scale multi-form task.

* `BigMathTinyV` (``tinyv.bigmath``) — the paper's RL data, ``zhangchenxu/bigmath_tinyv_filtered``
  shuffled with seed 42, 5,000 rows kept, ``problem`` / ``answer`` fields, data source
  ``bigmath_rl_tinyv`` (official ``bigmath_rl_tinyv.py``). The shuffle is the hub library's
  own (``Dataset.shuffle(seed=42).select(range(5000))``), so the rows are the paper's rows.
* `HardVerifyMath` (``tinyv.hardverify_math``) — the paper's verifier benchmark (§4,
  "HardVerify-Math"): 250 questions (125 from benchmarks, 125 from Big-Math), each with a
  ground truth, an equivalent answer the rule verifier rejects (``fn_output``) and a wrong
  one (``tn_output``). Read from ``$R1REPRO_DATA_DIR/tinyv/HardVerify-Math.json`` or
  ``../shared/data/tinyv/`` first, else from the hub id ``zhangchenxu/HardVerify-Math``.
* `MultiFormTask` (``tinyv.multiform``) — the CPU-scale task of `r1repro_tinyv.forms`; the
  SFT warm start writes each answer in a form drawn at random, so the policy starts out
  answering in several equivalent forms, some of which the rule verifier rejects.

No data is shipped: the fixtures below are written for the tests, not copied.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from typing import Any, ClassVar

from r1repro.components import Dataset, DatasetUnavailable, GeneratedDataset, Template, data_dirs
from r1repro.types import Row
from r1repro_tinyv import forms

BIGMATH_HUB_ID = "zhangchenxu/bigmath_tinyv_filtered"
BIGMATH_SIZE = 5000
BIGMATH_SEED = 42
BIGMATH_SOURCE = "bigmath_rl_tinyv"
HARDVERIFY_HUB_ID = "zhangchenxu/HardVerify-Math"
HARDVERIFY_FILE = "tinyv/HardVerify-Math.json"
MULTIFORM_SOURCE = "r1repro/multiform_tinyv"


class BigMathTinyV(Dataset):
    """The paper's 5K Big-Math RL set (hub only; ``load`` reproduces the official selection)."""

    hub_id: ClassVar[str] = BIGMATH_HUB_ID
    domain: ClassVar[str] = "math"

    def __init__(self, name: str = "") -> None:
        self.name = name or "tinyv.bigmath"

    def load(
        self, split: str = "train", limit: int | None = BIGMATH_SIZE, seed: int | None = BIGMATH_SEED
    ) -> list[Row]:
        try:
            import datasets

            ds = datasets.load_dataset(self.hub_id, split="train")
        except Exception as exc:  # noqa: BLE001
            raise DatasetUnavailable(
                f"dataset '{self.name}' needs the hub id '{self.hub_id}' ({type(exc).__name__}: {exc})"
            ) from exc
        if seed is not None:
            ds = ds.shuffle(seed=seed)
        if limit is not None:
            ds = ds.select(range(min(limit, len(ds))))
        return [self.to_row(dict(r), i, split) for i, r in enumerate(ds)]

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        extra = {k: v for k, v in record.items() if k not in ("problem", "answer") and _plain(v)}
        return Row(id=f"bigmath-{index}", problem=str(record["problem"]), ground_truth=str(record["answer"]),
                   data_source=BIGMATH_SOURCE, domain="math", extra=extra)  # fmt: skip

    def fixture(self) -> list[Row]:
        items = [("What is the sum of the interior angles of a hexagon, in degrees?", "720"),
                 ("Find all real x with x^2 = 9.", "-3, 3"),
                 ("Simplify \\frac{6}{8}.", "\\frac{3}{4}")]  # fmt: skip
        return [Row(id=f"bigmath-fixture-{i}", problem=p, ground_truth=a, data_source=BIGMATH_SOURCE, domain="math")
                for i, (p, a) in enumerate(items)]  # fmt: skip


class HardVerifyMath(Dataset):
    """HardVerify-Math: (question, ground truth, fn_output, tn_output), 250 rows, one split."""

    hub_id: ClassVar[str] = HARDVERIFY_HUB_ID
    local_files: ClassVar[dict[str, str]] = {"train": HARDVERIFY_FILE, "test": HARDVERIFY_FILE}
    domain: ClassVar[str] = "math"

    def __init__(self, name: str = "") -> None:
        self.name = name or "tinyv.hardverify_math"

    def records(self, split: str = "train") -> list[dict[str, Any]]:
        # The file and the hub hold one split ("train"); every split name reads it.
        reasons = []
        for d in data_dirs():
            path = d / HARDVERIFY_FILE
            if path.is_file():
                from r1repro.components import _read_records

                return _read_records(path)
        reasons.append(f"no local file '{HARDVERIFY_FILE}' in " + ", ".join(str(d) for d in data_dirs()))
        try:
            import datasets

            return [dict(r) for r in datasets.load_dataset(self.hub_id, split="train")]
        except Exception as exc:  # noqa: BLE001
            reasons.append(f"hub id '{self.hub_id}' could not be loaded ({type(exc).__name__}: {exc})")
        raise DatasetUnavailable(
            f"dataset '{self.name}' is unavailable: "
            + "; ".join(reasons)
            + ". Set R1REPRO_DATA_DIR to a folder holding tinyv/HardVerify-Math.json, or allow hub access."
        )

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        extra = {
            "fn_output": str(record.get("fn_output", "")),
            "tn_output": str(record.get("tn_output", "")),
            "source": str(record.get("source", "")),
            "benchmark_split": str(record.get("split", "")),
            "index": record.get("id", index),
        }
        return Row(id=f"hardverify-{record.get('id', index)}", problem=str(record["question"]),
                   ground_truth=str(record["ground_truth"]), data_source=HARDVERIFY_HUB_ID, domain="math",
                   extra=extra)  # fmt: skip

    def fixture(self) -> list[Row]:
        items = [
            ("Solve x^2 - 5x + 6 = 0.", "$2, 3$", "3, 2", "2, 4"),
            ("For which k is k + 5 < 0?", "$(-\\infty, -5)$", "k < -5", "k > -5"),
            ("What is 600/7 to two decimal places?", "$\\frac{600}{7}$", "85.71", "85.17"),
        ]
        return [Row(id=f"hardverify-fixture-{i}", problem=q, ground_truth=gt, data_source=HARDVERIFY_HUB_ID,
                    domain="math", extra={"fn_output": fn, "tn_output": tn, "source": "fixture",
                                          "benchmark_split": "fixture", "index": i})
                for i, (q, gt, fn, tn) in enumerate(items)]  # fmt: skip


class MultiFormTask(GeneratedDataset):
    """Generated problems whose answers have several equivalent forms (see `r1repro_tinyv.forms`).

    Options: ``kinds`` (default all five), ``forms`` ({kind: [form names]} to restrict the
    forms the SFT solutions use; default every form of the kind), ``form_weights``
    ({form name: weight}, default 1 each).
    """

    sizes: ClassVar[dict[str, int]] = {"train": 4000, "test": 300, "sft": 4000}

    def __init__(self, kinds: Sequence[str] = forms.KINDS, form_names: dict[str, list[str]] | None = None,
                 form_weights: dict[str, float] | None = None, name: str = "") -> None:  # fmt: skip
        unknown = [k for k in kinds if k not in forms.KINDS]
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; choose from {forms.KINDS}")
        self.kinds = list(kinds)
        self.form_names = {k: list(v) for k, v in (form_names or {}).items()}
        self.form_weights = dict(form_weights or {})
        self.name = name or "tinyv.multiform"

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            kind = self.kinds[i % len(self.kinds)] if split == "test" else rng.choice(self.kinds)
            problem, truth = forms.make_problem(kind, rng)
            rows.append(Row(id=f"multiform-{split}-{seed}-{i}", problem=problem,
                            ground_truth=forms.ground_truth(kind, truth), data_source=MULTIFORM_SOURCE,
                            domain="math", extra={"kind": kind, "truth": truth}))  # fmt: skip
        return rows

    def forms_of(self, kind: str) -> list[forms.Form]:
        names = self.form_names.get(kind)
        return [f for f in forms.FORMS[kind] if names is None or f.name in names]

    def solution(self, row: Row, template: Template) -> str:
        """A correct answer in a form drawn at random (deterministic per row)."""
        kind, truth = row.extra["kind"], row.extra["truth"]
        rng = random.Random(zlib.crc32(row.id.encode()))
        options = self.forms_of(kind)
        weights = [float(self.form_weights.get(f.name, 1.0)) for f in options]
        form = rng.choices(options, weights=weights)[0]
        return template.format_response(answer=form.render(truth))


def _plain(v: Any) -> bool:
    return isinstance(v, str | int | float | bool) or v is None
