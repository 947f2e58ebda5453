"""The self-evolving loop with a stub generator and a stub SFT (no model): which rationales are
kept, what each round trains on, and the vote over modalities."""

from __future__ import annotations

from r1repro_mot.data import LogicTask, rationale
from r1repro_mot.selfevolve import collect, evaluate, first_correct, self_evolve, with_modality
from r1repro_mot.templates import MODALITIES, response_text


def _stub_generate(quality: dict[str, float]):
    """A 'model' whose name encodes its round; candidate i is right iff i < k * quality[mode]."""
    from r1repro_mot.reward import prompt_modality

    def fn(model, prompts, k, temperature, seed):
        out = []
        for p in prompts:
            mode = prompt_modality(p)
            label = p[-1]["content"]  # the stub reads the label the test planted in the conclusion
            label = label.split("LABEL=")[1].split("\n")[0]
            wrong = {"True": "False", "False": "Uncertain", "Uncertain": "True"}[label]
            good = int(k * quality[mode] + 0.5)
            out.append([response_text("def f(): pass" if mode == "code" else "x", mode,
                                      label if i < good else wrong) for i in range(k)])  # fmt: skip
        return out

    return fn


def _rows(n=6):
    rows = LogicTask().load("test", limit=n)
    for r in rows:
        r.extra["conclusion"] = f"{r.extra['conclusion']} LABEL={r.ground_truth}"
    return rows


def test_first_correct_takes_the_first_valid_correct_candidate():
    cands = [response_text("x", "code", "True"),  # correct but no def/class/import
             response_text("def f(): pass", "code", "False"),  # wrong
             response_text("def a(): pass", "code", "True"),  # the one
             response_text("def b(): pass", "code", "True")]  # fmt: skip
    assert first_correct(cands, "True", "code") == cands[2]
    assert first_correct(cands[:2], "True", "code") is None


def test_collect_keeps_one_rationale_per_problem_and_modality():
    rows = _rows()
    pairs, kept = collect("m0", rows, MODALITIES, 4, 1.0, 0, _stub_generate(dict.fromkeys(MODALITIES, 0.5)))
    assert kept == dict.fromkeys(MODALITIES, len(rows)) and len(pairs) == 3 * len(rows)
    pairs, kept = collect("m0", rows, MODALITIES, 4, 1.0, 0,
                          _stub_generate({"nl_cot": 0.0, "code": 1.0, "truth_table": 0.25}))  # fmt: skip
    assert kept == {"nl_cot": 0, "code": len(rows), "truth_table": len(rows)}
    assert all(p[0][-1]["content"].endswith(("<code>", "<truth_table>")) for p in pairs)


def test_rounds_continue_from_the_previous_model():
    calls = []

    def sft(base, pairs, seed):
        calls.append((base, len(pairs)))
        return f"{base}+r"

    final, hist = self_evolve("start", _rows(), MODALITIES, 3, 2, 1.0, 0,
                              _stub_generate(dict.fromkeys(MODALITIES, 1.0)), sft)  # fmt: skip
    assert final == "start+r+r+r"
    assert [c[0] for c in calls] == ["start", "start+r", "start+r+r"]  # on-policy continuation
    assert all(n == 18 for _, n in calls) and [h.round for h in hist] == [1, 2, 3]


def test_evaluate_votes_over_modalities():
    rows = _rows(9)
    res = evaluate("m", rows, _stub_generate({"nl_cot": 1.0, "code": 1.0, "truth_table": 0.0}), seed=0)
    assert set(res) == {*MODALITIES, "vote"}
    assert all(v == 1.0 for v in res["vote"].values())  # two right out of three
    assert all(v == 0.0 for v in res["truth_table"].values())


def test_with_modality_and_rationales():
    row = LogicTask().load("test", limit=1)[0]
    r = with_modality(row, "code")
    assert r.extra["modality"] == "code" and r.id.endswith("#code")
    assert "def solve():" in rationale(r, "code", "True")


def test_reproduction_records_every_claimed_measurement(tmp_path, monkeypatch):
    """The whole reproduction with a stub model: every arm and metric the claims name is recorded
    with per-item values, and the claims can be judged."""
    import r1repro_mot.reproduction as rep

    from r1repro.registry import load_plugins
    from r1repro.repro.claims import load_claims
    from r1repro.repro.run import ReproRun, compose_config, judge_all

    quality = {"nl_cot": 0.5, "code": 0.5, "truth_table": 0.5}

    def stub_gen(model, prompts, k, temperature, seed):
        import random as _r

        from r1repro_mot.reward import prompt_modality

        rng = _r.Random(seed)
        out = []
        for p in prompts:
            mode = prompt_modality(p)
            label = rng.choice(["True", "False", "Uncertain"])
            body = "def f(): pass" if mode == "code" else "x"
            out.append(
                [
                    response_text(body, mode, label if rng.random() < quality[mode] else "True")
                    for _ in range(k)
                ]
            )
        return out

    monkeypatch.setattr(rep, "make_generate_fn", lambda *a, **k: stub_gen)
    monkeypatch.setattr(rep, "make_sft_fn", lambda *a, **k: lambda base, pairs, seed: f"{base}+sft")
    monkeypatch.setattr("r1repro.models.tiny.resolve_model", lambda path, seed=0: f"tiny-{seed}")
    reg = load_plugins()
    repro = reg.build("reproduction", "mot")
    cfg_dir = repro.resolve_config_dir()
    cfg = compose_config(  # workers=1: the jobs run in this process, where the stubs are
        cfg_dir,
        "cpu",
        ["seeds=[0,1]", "mot.problems=4", "mot.eval.limit=27", "mot.heldout.limit=3", "workers=1"],
    )
    run = ReproRun(
        name="mot", scale="cpu", cfg=cfg, out_dir=tmp_path, reproduction=repro, registry=reg, quiet=True
    )
    repro.run(run)
    _, claims = load_claims(cfg_dir / "claims.yaml")
    for c in claims:
        for arm in (c.treatment, c.baseline, c.arm):
            if arm is not None and not arm.startswith("proofwriter"):
                assert set(run.measurements[c.metric][arm]) == {0, 1}, (c.id, arm)
    assert len(run.items["accuracy"]["mot"][0]) == 27
    assert len(judge_all(run, claims)) == len(claims)
