"""Tests of the distillation-data statistics and filters (arXiv 2505.14464)."""

from __future__ import annotations

import math

import pytest
from r1repro_distill_source import stats
from r1repro_distill_source.data import AMQwen3Distilled, AMThinkingDistilled, to_distill_row


def _row(response: str, category: str = "math", teacher: str = "T", score: float | None = 1.0):
    return stats.DistillRow(
        prompt="q", response=response, category=category, teacher=teacher, verify_score=score
    )


def test_paper_constants():
    assert stats.VERIFY_THRESHOLD == 0.9 and stats.NGRAM_N == 20 and stats.NGRAM_MAX_COUNT == 20
    assert min(stats.PAPER_MEAN_PPL, key=stats.PAPER_MEAN_PPL.get) == "AM-Thinking-v1"
    assert sum(stats.PAPER_CATEGORY_MIX.values()) == pytest.approx(0.999)


def test_length_stats_and_histogram():
    s = stats.length_stats([2, 4, 4, 4, 5, 5, 7, 9])
    assert s["mean"] == 5 and s["std"] == 2 and s["cv"] == pytest.approx(0.4)
    assert math.isnan(stats.length_stats([])["mean"])
    assert stats.histogram([0, 1023, 1024, 9000, 50000]) == [2, 1, 0, 0, 1, 0, 0, 1]


def test_length_report_groups_by_category_and_teacher():
    rows = [_row("a b c", "math", "AM"), _row("a b c d e", "math", "R1"), _row("x", "chat", "AM")]
    by_cat = stats.length_report(rows, edges=(0, 4))
    assert by_cat["math"]["mean"] == 4 and by_cat["math"]["histogram"] == [1, 1]
    by_both = stats.length_report(rows, by="teacher/category", edges=(0, 4))
    assert set(by_both) == {"AM/math", "R1/math", "AM/chat"}
    assert stats.category_mix(rows) == {"math": pytest.approx(2 / 3), "chat": pytest.approx(1 / 3)}


@pytest.mark.parametrize("response, ok", [
    ("<think>reason</think><answer>5</answer>", True),
    ("  <think>r</think>\n<answer>5</answer>\n", True),
    ("<think></think><answer>5</answer>", False),
    ("<think>r</think>", False),
    ("<answer>5</answer><think>r</think>", False),
    ("<think>r</think><answer>5</answer><think>again</think><answer>6</answer>", False),
    ("plain text", False),
])  # fmt: skip
def test_think_answer_structure(response, ok):
    assert stats.has_think_answer(response) is ok


def test_frequent_ngram_redundancy_and_filters():
    boiler = " ".join(f"w{i}" for i in range(20))
    rows = [_row(f"<think>{boiler} {i}</think><answer>{i}</answer>") for i in range(22)]
    rows += [_row("<think>unique words here</think><answer>1</answer>")]
    red = stats.ngram_redundancy(rows, n=20, max_count=20)
    assert red["frequent_ngrams"] >= 1 and red["share"] == pytest.approx(22 / 23)
    assert stats.ngram_redundancy(rows[:20], n=20, max_count=20)["share"] == 0.0  # 20 times is allowed
    rows += [_row("<think>a</think><answer>1</answer>", score=0.5), _row("no tags")]
    kept, removed = stats.filter_rows(rows, stats.FilterConfig())
    assert len(kept) == 1 and removed == {"frequent_ngram": 22, "verify_score": 1, "structure": 1}


def test_perplexity_filter_is_per_teacher():
    rows = [_row("<think>a</think><answer>1</answer>", teacher=t) for t in ("AM", "R1", "R1")]
    cfg = stats.FilterConfig(ppl_threshold={"AM": 2.0, "R1": 3.0}, ngram_n=None)
    kept, removed = stats.filter_rows(rows, cfg, ppl=[2.5, 2.5, 3.5])
    assert [r.teacher for r in kept] == ["R1"] and removed == {"perplexity": 2}
    with pytest.raises(ValueError, match="perplexity per row"):
        stats.filter_rows(rows, cfg)


def test_perplexity_under_a_reference_lm_is_finite_and_lower_for_repeated_text():
    import torch

    from r1repro.models.tiny import load_policy

    torch.manual_seed(0)
    model, tok = load_policy("tiny:nano")
    rows = [_row("<think>1 2 3</think><answer>6</answer>"), _row("Compute 5 + 7")]
    ppl = stats.perplexity(model, tok, rows)
    assert len(ppl) == 2 and all(1.0 < p < 5000 for p in ppl)
    assert stats.perplexity(model, tok, rows[:1])[0] == pytest.approx(ppl[0], rel=1e-4)  # padding-independent


def test_hub_records_in_chat_and_flat_layouts():
    chat = {"messages": [{"role": "user", "content": "Q?"},
                         {"role": "assistant", "content": "<think>t</think><answer>A</answer>",
                          "info": {"source": "math", "verify_score": 1}}]}  # fmt: skip
    r = to_distill_row(chat, "AM-Thinking-v1")
    assert (r.prompt, r.category, r.verify_score, r.teacher) == ("Q?", "math", 1.0, "AM-Thinking-v1")
    flat = to_distill_row({"query": "Q", "response": "R", "task": "code"}, "T")
    assert (flat.prompt, flat.response, flat.category, flat.verify_score) == ("Q", "R", "code", None)
    with pytest.raises(ValueError, match="known layout"):
        to_distill_row({"text": "x"}, "T")


def test_loaders_name_the_hub_id_when_offline(monkeypatch, tmp_path):
    from r1repro.components import DatasetUnavailable

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("R1REPRO_DATA_DIR", str(tmp_path))
    for cls in (AMThinkingDistilled, AMQwen3Distilled):
        ds = cls(cls.__name__)
        with pytest.raises(DatasetUnavailable, match=cls.hub_id):
            ds.load("train", limit=2)
        assert ds.fixture()[0].extra["teacher"] == cls.teacher
    (tmp_path / "AM-Qwen3-Distilled.jsonl").write_text(
        '{"query": "Q", "response": "R", "verify_score": 0.9}\n'
    )
    rows = AMQwen3Distilled("q").distill_rows()
    assert rows[0].teacher == "Qwen3-235B-A22B" and rows[0].verify_score == 0.9


# ----------------------------------------------------------------- the CPU-scale teachers and students
def test_teachers_differ_the_way_the_papers_do():
    import random

    from r1repro_distill_source import teachers

    probs = teachers.problems(50, 0, "train")
    assert {p.difficulty for p in probs} == set(teachers.DIFFICULTIES)
    by = {t: [teachers.trace(p, t, random.Random(i)) for i, p in enumerate(probs)] for t in teachers.TEACHERS}
    for t, traces in by.items():  # every teacher is correct and well formed
        assert all(stats.has_think_answer(r) and r.endswith(f"<answer>{p.answer}</answer>")
                   for p, r in zip(probs, traces)), t  # fmt: skip
    lengths = {t: [len(r.split()) for r in rs] for t, rs in by.items()}
    cv = {t: stats.length_stats(v)["cv"] for t, v in lengths.items()}
    assert cv["long"] < 0.1 < cv["adaptive"]  # uniformly long vs adaptive
    easy = [i for i, p in enumerate(probs) if p.difficulty == 2]
    assert min(lengths["long"][i] for i in easy) > max(lengths["adaptive"][i] for i in easy)
    assert sum(lengths["noisy"]) > sum(lengths["adaptive"])  # filler and repeated steps
    with pytest.raises(ValueError, match="unknown teacher"):
        teachers.trace(probs[0], "oracle", random.Random(0))


def test_student_scoring_and_slope():
    from r1repro_distill_source import students

    assert students.is_correct("<think>x</think><answer>12</answer>", 12)
    assert not students.is_correct("<answer>12", 12) and not students.is_correct("", 0)
    assert students.is_correct("<answer>3</answer> <answer>12</answer>", 12)  # the last answer counts
    assert students.slope([2, 3, 4], [10, 20, 30]) == pytest.approx(10.0)
    assert students.slope([2, 2], [1, 5]) == 0.0


@pytest.mark.slow
def test_tiny_reproduction_records_every_claimed_measurement(tmp_path, monkeypatch):
    import json
    from pathlib import Path

    from r1repro.repro.run import run_reproduction

    monkeypatch.setenv("R1REPRO_RUNS", str(tmp_path))
    summary = run_reproduction("distill_source", overrides=[
        "seeds=[0]", "distill.train_problems=100", "distill.test_problems=10", "distill.ppl_rows=10",
        "distill.max_new_tokens=16", "distill.student.steps=2"], quiet=True)  # fmt: skip
    meas = json.loads((Path(summary["out_dir"]) / "results.json").read_text())["measurements"]
    for metric in ("accuracy", "length_slope", "ref_ppl", "accuracy_hard"):
        assert set(meas[metric]) == {"adaptive", "long", "noisy"}, metric
    assert summary["verdicts"]["adaptive_data_lowest_ppl"] == "reported"
