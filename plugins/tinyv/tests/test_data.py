"""TinyV's datasets: HardVerify-Math (local file or hub), the 5K Big-Math selection, the
generated multi-form task and its SFT solutions."""

import collections
import sys
import types

import pytest
from r1repro_tinyv import data as D
from r1repro_tinyv import forms

from r1repro.components import DatasetUnavailable
from r1repro.registry import build
from r1repro.testing import check_row


@pytest.mark.parametrize("name", ["tinyv.bigmath", "tinyv.hardverify_math", "tinyv.multiform"])
def test_fixtures_match_the_schema(name):
    rows = build("dataset", name).fixture()
    assert rows and all(check_row(r) == [] for r in rows)


def test_hardverify_reads_the_local_copy_or_says_why(monkeypatch, tmp_path):
    ds = build("dataset", "tinyv.hardverify_math")
    try:
        rows = ds.load("test")
    except DatasetUnavailable:
        pytest.skip("HardVerify-Math not available here")
    assert len(rows) == 250
    assert collections.Counter(r.extra["benchmark_split"] for r in rows) == {
        "benchmarks": 125,
        "big_math": 125,
    }
    assert all(
        r.extra["fn_output"] and r.extra["tn_output"] and r.data_source == D.HARDVERIFY_HUB_ID for r in rows
    )
    # no local copy and no hub: a clear error naming both sources
    monkeypatch.setenv("R1REPRO_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(D, "data_dirs", lambda: [tmp_path])
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(DatasetUnavailable, match="HardVerify-Math"):
        ds.records("test")


def test_bigmath_selection_is_the_official_one(monkeypatch):
    calls = []

    class FakeHub:
        def __init__(self, rows):
            self.rows = rows

        def shuffle(self, seed):
            calls.append(("shuffle", seed))
            return FakeHub(list(reversed(self.rows)))

        def select(self, idx):
            idx = list(idx)
            calls.append(("select", len(idx)))
            return FakeHub([self.rows[i] for i in idx])

        def __len__(self):
            return len(self.rows)

        def __iter__(self):
            return iter(self.rows)

    def load_dataset(hub_id, split):
        calls.append(("load", hub_id, split))
        return FakeHub([{"problem": f"p{i}", "answer": str(i), "source": "s"} for i in range(6000)])

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    rows = build("dataset", "tinyv.bigmath").load()
    assert calls == [
        ("load", "zhangchenxu/bigmath_tinyv_filtered", "train"),
        ("shuffle", 42),
        ("select", 5000),
    ]
    assert len(rows) == 5000 and rows[0].problem == "p5999" and rows[0].data_source == "bigmath_rl_tinyv"


def test_multiform_is_deterministic_and_mixed():
    ds = build("dataset", "tinyv.multiform")
    a, b = ds.load("train", limit=50), ds.load("train", limit=50)
    assert [r.problem for r in a] == [r.problem for r in b]
    assert ds.load("test", limit=10)[0].problem != a[0].problem
    test = ds.load("test", limit=300)
    assert collections.Counter(r.extra["kind"] for r in test) == {k: 60 for k in forms.KINDS}
    for r in test[:20]:
        assert forms.equivalent(r.extra["kind"], r.ground_truth, r.extra["truth"])


def test_sft_solutions_use_every_form_and_are_correct():
    ds = build("dataset", "tinyv.multiform")
    tpl = build("template", "tinyv.boxed")
    seen = collections.Counter()
    for row in ds.load("sft", limit=600):
        text = ds.solution(row, tpl)
        answer = tpl.parse(text).answer
        assert forms.equivalent(row.extra["kind"], answer, row.extra["truth"]), text
        for f in forms.FORMS[row.extra["kind"]]:
            if f.render(row.extra["truth"]) == answer:
                seen[(row.extra["kind"], f.name)] += 1
    assert len(seen) == sum(len(v) for v in forms.FORMS.values())  # every form occurs
    only = D.MultiFormTask(form_names={"roots": ["list"]}, kinds=["roots"])
    assert all(
        ", " in only.solution(r, tpl) and "x =" not in only.solution(r, tpl)
        for r in only.load("sft", limit=20)
    )
