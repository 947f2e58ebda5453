"""The tiny TinyV: its data (rule-negatives, labels on the shown answer, balance), the
shared-prefix forward (equal to the plain one) and a few training steps on tiny:nano."""

import random

import pytest
import torch
from r1repro_tinyv import forms, templates
from r1repro_tinyv import verifier as V
from r1repro_tinyv.data import MultiFormTask

from r1repro.judge import build_judge


@pytest.fixture(scope="module")
def nano():
    from r1repro.models.tiny import load_policy

    torch.manual_seed(0)
    model, tok = load_policy("tiny:nano", seed=3)
    return model, tok


def _prompts():
    return [templates.verifier_messages(f"Solve x + {i} > 0.", f"(-{i}, \\infty)", a)
            for i, a in enumerate(["x > -1", "(2, 3)", "-5, 3 and a longer answer", "1"])]  # fmt: skip


def test_common_prefix_length():
    assert V.common_prefix_length([[1, 2, 3], [1, 2, 4], [1, 2]]) == 1  # one token left in each
    assert V.common_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2
    assert V.common_prefix_length([[5], [6]]) == 0 and V.common_prefix_length([]) == 0


def test_shared_prefix_forward_equals_the_plain_forward(nano):
    model, tok = nano
    judge = V.SharedPrefixJudge(model="tiny:nano")
    ids = [judge._encode(tok, p) for p in _prompts()]
    assert V.common_prefix_length(ids) > 150  # the instructions are shared
    with torch.no_grad():
        _, logits, _, _ = V.prefill_shared(model.eval(), ids, tok.pad_token_id)
        ref = torch.stack([model(input_ids=torch.tensor([s])).logits[0, -1] for s in ids])
    assert torch.allclose(logits, ref, atol=1e-5)


def test_shared_prefix_judge_generates_what_the_plain_judge_generates():
    plain = build_judge({"backend": "transformers", "model": "tiny:nano", "max_tokens": 5})
    shared = V.SharedPrefixJudge(model="tiny:nano", max_tokens=5)
    assert shared.complete(_prompts()) == plain.complete(_prompts())


def test_training_forward_equals_the_full_forward(nano):
    model, tok = nano
    model.train()
    seqs = [templates.verifier_messages("q", "1", a) for a in ("1", "22")]
    enc = [V._encode(tok, m) for m in seqs]
    head = V.common_prefix_length(enc)
    rest = [(e[head:], tok("True", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]) for e in enc]
    logits, labels = V._shared_head_logits(model, enc[0][:head], rest, tok.pad_token_id)
    for r, (q, a) in enumerate(rest):
        full = model(input_ids=torch.tensor([enc[r] + a])).logits[0]
        # logits[:, t] predicts the t-th token after the head
        got = logits[r, len(q) : len(q) + len(a)]
        want = full[head + len(q) - 1 : head + len(q) + len(a) - 1]
        assert torch.allclose(got, want, atol=1e-4)
        assert labels[r, len(q) : len(q) + len(a)].tolist() == a


def test_pairs_are_rule_negatives_labelled_on_the_shown_answer():
    row = MultiFormTask(kinds=["roots"]).generate(1, 5, "t")[0]
    truth = row.extra["truth"]
    a, b = truth["roots"]
    assert V.rule_negative_pair(row, f"\\boxed{{{a}, {b}}}", "mined") is None  # the rule accepts it
    reordered = V.rule_negative_pair(row, f"\\boxed{{{b}, {a}}}", "mined")
    assert reordered.label is True and reordered.answer == f"{b}, {a}"
    named = V.rule_negative_pair(row, f"\\boxed{{x = {a}, x = {b}}}", "mined")
    assert named.answer == str(b) and named.label is False  # PRIME shows only the last value
    wrong = V.rule_negative_pair(row, f"\\boxed{{{-b}, {a}}}", "mined")
    assert wrong.label is False
    assert reordered.target() == "True" and wrong.target() == "False"
    think = reordered.target(think=True)
    assert think.endswith("Answer: True") and templates.parse_verdict(think, think=True) == 1
    truth_chars = V.grid_row("roots", row.ground_truth).rstrip(".")
    assert think.split("\n")[1] == "".join(c + c + "=" for c in truth_chars)  # a reordering is canonical
    grid = reordered.target(think=True, reasoning="grid")  # tiny TinyV version 4
    assert grid.split("\n")[1] == V.grid_row("roots", row.ground_truth)
    old = reordered.target(think=True, reasoning="forms")  # tiny TinyV version 3
    assert old.split(" | ")[0] == forms.canonical("roots", row.ground_truth)
    assert old.endswith(". Answer: True")


def test_the_grid_reasoning_lines_up_each_column():
    grid = V.grid_reasoning("interval", "(-\\infty, -1)", "x > -1")
    assert grid == "\nx<~1........\nx>~1........\n=#==========\n"
    assert V.grid_reasoning("fraction", "\\frac{1}{2}", "0.5").split("\n")[3] == "=" * V.GRID_WIDTH
    assert V.grid_row("point", "no idea") == "?" + "." * (V.GRID_WIDTH - 1)


def test_the_column_reasoning_puts_each_mark_right_after_the_two_characters_it_compares():
    assert V.column_reasoning("interval", "(-\\infty, -1)", "x > -1") == "\nxx=lg#~~=11=\n"
    assert V.column_reasoning("fraction", "\\frac{1}{2}", "0.5") == "\n11=//=22=\n"
    assert V.column_reasoning("point", "(1, 2)", "no idea") == "\n(?#1.#,.#2.#).#\n"
    assert V.TinyVConfig().reasoning == "columns" and V.TinyVConfig().version == 5
    for kind, truth, answer in (("roots", "-1, 2", "2, -1"), ("poly", "x^2 + 2x", "2x + x^2")):
        line = V.column_reasoning(kind, truth, answer).strip("\n")
        marks = line[2::3]
        assert len(line) % 3 == 0 and set(marks) <= {"=", "#"}
        assert all((m == "=") == (line[i * 3] == line[i * 3 + 1]) for i, m in enumerate(marks))


def test_every_canonical_form_fits_the_grid_one_token_per_character():
    from r1repro.models.tiny import load_tokenizer

    tok = load_tokenizer(None)
    rng = random.Random(0)
    widest = 0
    for row in MultiFormTask().generate(600, 7, "t"):
        kind, truth = row.extra["kind"], row.extra["truth"]
        for value in (truth, forms.corrupt(kind, truth, rng)):
            c = forms.canonical(kind, forms.render(kind, forms.FORMS[kind][0].name, value))
            text = c.replace(" ", "").replace("-", "~")
            widest = max(widest, len(text))
            row_ = V.grid_row(kind, forms.render(kind, forms.FORMS[kind][0].name, value))
            assert len(tok("\n" + row_, add_special_tokens=False)["input_ids"]) == 1 + V.GRID_WIDTH, row_
    assert widest <= V.GRID_WIDTH  # nothing is cut


def test_every_column_line_is_one_token_per_character():
    """Truth and answer side by side, in every form, wrong values and unreadable answers included:
    no two neighbours merge into one token (``><`` and ``>.`` would: hence `COLUMN_SIGNS`)."""
    from r1repro.models.tiny import load_tokenizer

    tok = load_tokenizer(None)
    rng = random.Random(1)
    for row in MultiFormTask().generate(300, 11, "t"):
        kind, truth = row.extra["kind"], row.extra["truth"]
        shown = [forms.render(kind, f.name, truth) for f in forms.FORMS[kind]]
        shown += [forms.render(kind, forms.FORMS[kind][0].name, forms.corrupt(kind, truth, rng)), "no idea"]
        for answer in shown:
            text = V.column_reasoning(kind, shown[0], answer)
            assert len(tok(text, add_special_tokens=False)["input_ids"]) == len(text), text


def test_generated_pairs_and_balance():
    rng = random.Random(0)
    rows = MultiFormTask().generate(80, 1, "t")
    pairs = V.generated_pairs(rows, rng, per_row=3)
    assert pairs and all(p.origin == "generated" for p in pairs)
    for p in pairs:
        row = next(r for r in rows if r.id == p.problem_id)
        assert p.label == forms.equivalent(p.kind, p.answer, row.extra["truth"])
    bal = V.balance(pairs, rng)
    for kind in forms.KINDS:
        pos = sum(p.label for p in bal if p.kind == kind)
        neg = sum(not p.label for p in bal if p.kind == kind)
        assert pos == neg or pos == 0, (kind, pos, neg)


def test_perturbed_pairs_are_damaged_answers_labelled_by_the_oracle():
    rng = random.Random(0)
    rows = MultiFormTask().generate(60, 2, "t")
    pairs = V.perturbed_pairs(rows, rng, per_row=2)
    assert pairs and all(p.origin == "perturbed" for p in pairs)
    assert max(sum(p.problem_id == r.id for p in pairs) for r in rows) <= 2
    for p in pairs:
        row = next(r for r in rows if r.id == p.problem_id)
        assert p.label == forms.equivalent(p.kind, p.answer, row.extra["truth"])
    # damage mostly breaks the value: these are the false positives the tiny TinyV must learn to refuse
    assert sum(not p.label for p in pairs) > len(pairs) / 2


def test_damaged_answers_train_but_are_not_in_the_held_out_pairs(monkeypatch):
    monkeypatch.setattr(V, "mine_policy_pairs", lambda *a, **k: [])
    cfg = V.TinyVConfig(generated_problems=60, mine_problems=0, perturbed_per_problem=2, holdout=0.3)
    train, val, test = V.build_pairs("unused", MultiFormTask(), None, cfg)
    assert any(p.origin == "perturbed" for p in train)
    assert test and all(p.origin != "perturbed" for p in test)
    assert val and all(p.origin != "perturbed" for p in val)
    # train, validation and test never share a problem
    ids = [{p.problem_id for p in part} for part in (train, val, test)]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])


def test_the_verdict_bias_is_the_most_accurate_one_within_the_false_positive_bar():
    # negatives' margins 2.0 / -1 / -2 / -3, positives' 3 / 1.5 / 1 / None (never says a verdict)
    margins = [2.0, -1.0, -2.0, -3.0, 3.0, 1.5, 1.0, None]
    found = [None if m is None else (m, 0.0) for m in margins]
    labels = [False] * 4 + [True] * 4
    assert V.choose_rule(found, labels, max_false_positive=0.3) == V.Calibration(0.0, None)  # one FP in four
    strict = V.choose_rule(found, labels, max_false_positive=0.0, gate=False)
    assert 2.0 <= strict.bias < 3.0 and strict.min_confidence is None  # keeps the most confident positive
    said = [m is not None and m > strict.bias for m in margins]
    assert not any(s for s, y in zip(said, labels) if not y)


def test_the_confidence_gate_refuses_verdicts_written_after_unsure_reasoning():
    # every reply says True with the same margin; the negatives were written with low confidence
    found = [(2.0, -3.0), (2.0, -2.5), (2.0, -0.1), (2.0, -0.2), (2.0, -0.05), None]
    labels = [False, False, True, True, True, True]
    rule = V.choose_rule(found, labels, max_false_positive=0.0)
    assert rule.bias < 2.0 and -2.5 < rule.min_confidence < -0.2  # no bias can separate them; the gate can
    no_gate = V.choose_rule(found, labels, max_false_positive=0.0, gate=False)
    assert no_gate.bias >= 2.0  # without the gate: every reply is refused
    assert [f is not None and rule.says_true(*f) for f in found] == [False, False, True, True, True, False]


def test_the_calibrated_verdict_decides_only_at_the_verdict_word():
    t_id, f_id, other = 5, 6, 7
    logits = torch.zeros(4, 10)
    logits[:, t_id], logits[:, f_id] = torch.tensor([2.0, 2.0, 0.0, 2.0]), torch.tensor([1.0, 0.0, 1.0, 1.0])
    tok = torch.tensor([t_id, t_id, f_id, other])
    verdict = V.Verdict(t_id, f_id, V.Calibration(bias=1.5), margins=[None] * 4)
    decided, done = [False] * 4, torch.tensor([False, False, False, False])
    out = V._apply_verdict(tok.clone(), logits, verdict, decided, done)
    # margin 1 <= bias 1.5: False; margin 2 > 1.5: True; margin -1: False; not a verdict word: untouched
    assert out.tolist() == [f_id, t_id, f_id, other]
    assert [m and m[0] for m in verdict.margins] == [1.0, 2.0, -1.0, None]
    assert decided == [True, True, True, False]
    again = V._apply_verdict(torch.tensor([t_id] * 4), logits, verdict, decided, done)
    assert again.tolist()[:3] == [t_id] * 3  # a row decides once; later words are left alone


def test_the_confidence_is_the_least_likely_token_before_the_verdict():
    t_id, f_id, other = 5, 6, 7
    verdict = V.Verdict(t_id, f_id, V.Calibration(0.0, min_confidence=-1.0), margins=[None] * 2)
    decided, done, conf = [False] * 2, torch.tensor([False, False]), [0.0, 0.0]
    sure, unsure = torch.full((10,), -20.0), torch.zeros(10)
    sure[other] = 20.0
    V._apply_verdict(torch.tensor([other, other]), torch.stack([sure, unsure]), verdict, decided, done, conf)
    assert conf[0] > -1e-6 and abs(conf[1] - (-torch.log(torch.tensor(10.0)).item())) < 1e-5
    logits = torch.zeros(2, 10)
    logits[:, t_id] = 3.0
    out = V._apply_verdict(torch.tensor([t_id, t_id]), logits, verdict, decided, done, conf)
    assert out.tolist() == [t_id, f_id]  # same margin; the unsure row (log 1/10 < -1) is refused
    assert verdict.margins[1] == (3.0, conf[1])


def test_a_stored_rule_is_read_with_the_model(tmp_path):
    assert V.read_calibration(str(tmp_path)) is None
    (tmp_path / V.CALIBRATION_FILE).write_text('{"bias": 0.75}')  # version 3: a bias only
    assert V.read_calibration(str(tmp_path)) == V.Calibration(0.75, None)
    (tmp_path / V.CALIBRATION_FILE).write_text('{"bias": 0.5, "min_confidence": -2.0}')
    assert V.read_calibration(str(tmp_path)) == V.Calibration(0.5, -2.0)
    judge = V.SharedPrefixJudge(model="tiny:nano", max_tokens=4)
    assert len(judge.margins(_prompts(), 4)) == len(_prompts())


def test_train_and_evaluate_a_tiny_verifier(tmp_path):
    rows = MultiFormTask(kinds=["fraction"]).generate(12, 2, "t")
    pairs = V.balance(V.generated_pairs(rows, random.Random(1), per_row=2), random.Random(1))
    cfg = V.TinyVConfig(steps=3, batch_size=4, think=True)
    out = V.train_verifier("tiny:nano", pairs, tmp_path / "v", cfg)
    assert (out / "config.json").is_file()
    judge = V.SharedPrefixJudge(model=str(out), batch_size=8)
    report = V.evaluate_verifier(judge, pairs[:6], think=True, max_tokens=6)
    assert report["n"] == 6 and 0.0 <= report["accuracy"] <= 1.0
    assert len(report["items"]) == 6 and report["accuracy"] == sum(report["items"].values()) / 6
    neg = [report["items"][k] for k in report["negative_items"]]
    assert report["false_positive"] == pytest.approx(1 - sum(neg) / len(neg))


def test_tinyv_tiny_resolution_honours_the_environment(monkeypatch):
    monkeypatch.setenv(V.VERIFIER_ENV, "/some/verifier")
    assert V.resolve_verifier_model("tinyv:tiny") == "/some/verifier"
    assert V.resolve_verifier_model("zhangchenxu/TinyV-1.5B") == "zhangchenxu/TinyV-1.5B"


def test_the_verdict_weight_scales_only_the_verdict_tokens_share_of_the_loss():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 11)
    labels = torch.tensor([[-100, 3, 4, 7], [-100, -100, 5, 7]])  # 7 is the verdict token
    plain = torch.nn.functional.cross_entropy(logits.reshape(-1, 11), labels.reshape(-1), ignore_index=-100)
    assert torch.allclose(V._weighted_loss(logits, labels, [7, 8], 1.0), plain)
    per = torch.nn.functional.cross_entropy(logits.reshape(-1, 11), labels.reshape(-1), ignore_index=-100,
                                            reduction="none")  # fmt: skip
    verdict, think = per[[3, 7]].sum(), per[[1, 2, 6]].sum()
    want = (10 * verdict + think) / (2 * 10 + 3)
    assert torch.allclose(V._weighted_loss(logits, labels, [7, 8], 10.0), want)
    assert not torch.allclose(want, plain)  # the weight changes the loss
