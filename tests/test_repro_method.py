"""How a reproduction decides: paired seeds, item-level error, pseudo-replication, pre-registration
(revised-after-results), profiles, seed plumbing and generated README tables. No training."""

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from r1repro.repro import stats
from r1repro.repro.claims import ONCE, PSEUDO_WARNING, Claim, judge
from r1repro.repro.report import claims_section, measurements_section
from r1repro.repro.run import (
    ReproRun,
    compose_config,
    earlier_judgements,
    judge_all,
    profile_seeds,
    standard_items,
)

TOY_CONFIG = Path(__file__).parent / "toy_plugin" / "r1repro_toy" / "repro"


def _run(tmp_path, cfg=None) -> ReproRun:
    cfg = OmegaConf.create(cfg or {"seeds": [0, 1, 2], "engine": {"eval": {"limit": 40, "temperature": 0.0}}})
    return ReproRun(name="p", scale="cpu", cfg=cfg, out_dir=tmp_path, reproduction=None, registry=None)


def _items(correct: int, total: int = 40) -> list[float]:
    return [1.0] * correct + [0.0] * (total - correct)


def test_compare_is_paired_on_shared_seeds_and_includes_item_error(tmp_path):
    run = _run(tmp_path)
    for seed, (t, b) in enumerate([(30, 20), (28, 22), (33, 21)]):
        run.record("acc", "t", seed, t / 40, items=_items(t))
        run.record("acc", "b", seed, b / 40, items=_items(b))
    c = Claim(id="c", claim="x", metric="acc", treatment="t", baseline="b")
    j = judge(c, run.measurements, run.items, run.once)
    d = [10 / 40, 6 / 40, 12 / 40]
    # the same item ids in both arms: item-wise differences give each seed's evaluation variance
    v = [stats.paired_var_of_mean_diff(run.items["acc"]["t"][s], run.items["acc"]["b"][s]) for s in range(3)]
    want = stats.paired_diff(d, v)
    got = j.detail["diff"]
    assert got["method"] == "paired" and (got["low"], got["high"]) == pytest.approx((want.low, want.high))
    assert got["se_eval"] > 0 and want.width > stats.paired_diff(d).width
    assert j.verdict == stats.HELD and "paired" in j.measured


def test_unpaired_seeds_use_welch(tmp_path):
    run = _run(tmp_path)
    for s, v in zip((0, 1, 2), (0.6, 0.7, 0.65)):
        run.record("acc", "t", s, v)
    for s, v in zip((5, 6, 7), (0.5, 0.55, 0.45)):
        run.record("acc", "b", s, v)
    j = judge(
        Claim(id="c", claim="x", metric="acc", treatment="t", baseline="b"), run.measurements, run.items
    )
    assert j.detail["diff"]["method"] == "welch"


def test_all_correct_vs_all_wrong_single_measurements_have_width(tmp_path):
    run = _run(tmp_path)
    run.record_once("acc", "t", 1.0, items=_items(40))
    run.record_once("acc", "b", 0.0, items=_items(0))
    j = judge(Claim(id="c", claim="x", metric="acc", treatment="t", baseline="b"), run.measurements, run.items,
              run.once)  # fmt: skip
    iv = j.detail["diff"]
    assert iv["high"] - iv["low"] > 0.1 and not iv["no_error_estimate"]
    assert j.verdict == stats.HELD


def test_one_measurement_copied_into_seeds_is_judged_once_and_flagged(tmp_path):
    """Fails if a measurement copied into every seed were treated as replicated."""
    items = _items(30)
    copied, single = _run(tmp_path), _run(tmp_path)
    for s in (0, 1, 2):
        copied.record("acc", "verifier", s, 0.75, items=items)
    single.record_once("acc", "verifier", 0.75, items=items)
    claim = Claim(id="c", claim="x", metric="acc", kind="threshold", arm="verifier", value=0.6)
    jc = judge(claim, copied.measurements, copied.items, copied.once)
    js = judge(claim, single.measurements, single.items, single.once)
    assert jc.detail["diff"] == js.detail["diff"]  # the n = 1 interval, not a 3-seed one
    assert jc.detail["values"] == {ONCE: 0.75}
    assert any(PSEUDO_WARNING in w for w in jc.warnings) and not js.warnings
    text = "\n".join(claims_section([jc], "cpu") + measurements_section(copied))
    assert PSEUDO_WARNING in text
    # genuinely different seeds are not flagged
    varied = _run(tmp_path)
    for s, k in zip((0, 1, 2), (29, 30, 31)):
        varied.record("acc", "verifier", s, k / 40, items=_items(k))
    jv = judge(claim, varied.measurements, varied.items, varied.once)
    assert not jv.warnings and jv.detail["diff"]["n"] == (3,)


def test_threshold_once_uses_the_item_bootstrap(tmp_path):
    run = _run(tmp_path)
    run.record_once("acc", "a", 0.75, items=_items(30))
    j = judge(Claim(id="c", claim="x", metric="acc", kind="threshold", arm="a", value=0.5), run.measurements,
              run.items, run.once)  # fmt: skip
    boot = stats.bootstrap_mean_ci(_items(30), seed=0)
    assert j.detail["diff"]["method"] == "item bootstrap"
    assert j.detail["diff"]["low"] == pytest.approx(boot.low - 0.5)
    assert j.verdict == stats.HELD


def _results(path: Path, claim: Claim, verdict: str) -> None:
    path.mkdir(parents=True)
    path.joinpath("results.json").write_text(json.dumps({"claims": [
        {"id": claim.id, "definition": claim.definition(), "definition_hash": claim.definition_hash(),
         "verdict": verdict}]}))  # fmt: skip


def test_revised_after_results_marker(tmp_path):
    runs = tmp_path / "runs" / "p"
    old = Claim(id="gain", claim="x", metric="acc", kind="threshold", arm="a", value=0.0, margin=0.05)
    new = Claim(id="gain", claim="x", metric="acc", kind="threshold", arm="a", value=0.0, margin=0.0)
    same = Claim(id="other", claim="y", metric="acc", kind="threshold", arm="a", value=0.0)
    _results(runs / "20260101-000000-cpu", old, stats.NOT_HELD)
    _results(runs / "20260102-000000-cpu", same, stats.HELD)
    run = _run(runs / "20260103-000000-cpu")
    for s, v in enumerate((0.6, 0.62, 0.64)):
        run.record("acc", "a", s, v)
    earlier = earlier_judgements(runs, exclude=run.out_dir)
    js = judge_all(run, [new, same], earlier)
    assert js[0].detail["revision"]["run"] == "20260101-000000-cpu"
    assert js[0].detail["revision"]["verdict"] == stats.NOT_HELD
    assert "revision" not in js[1].detail  # unchanged definition: no marker
    text = "\n".join(claims_section(js, "cpu"))
    assert text.count("revised after results") >= 2 and "did not hold" in text and "margin=0.05" in text
    # a revision made before this record existed is declared in claims.yaml and rendered the same way
    declared = Claim(id="z", claim="z", metric="acc", kind="report", arm="a",
                     revised="margin 0.05 -> 0.0 on 2026-01-02 after run X judged it 'did not hold'")  # fmt: skip
    text = "\n".join(claims_section(judge_all(run, [declared]), "cpu"))
    assert "revised after results" in text and "run X" in text


def test_definition_hash_ignores_wording():
    a = Claim(id="c", claim="one wording", metric="m", kind="threshold", arm="a", value=0.5)
    b = Claim(id="c", claim="another", metric="m", kind="threshold", arm="a", value=0.5, note="n")
    c = Claim(id="c", claim="one wording", metric="m", kind="threshold", arm="a", value=0.6)
    assert a.definition_hash() == b.definition_hash() != c.definition_hash()


def test_protocol_defaults_from_the_eval_config(tmp_path):
    run = _run(
        tmp_path,
        {"engine": {"data": {"dataset": "x.task"}, "eval": {"limit": 48, "temperature": 1.0, "n": 4}}},
    )
    run.record("final_correct", "a", 0, 0.5, items=[0.5, 0.5])
    run.record("ratio", "a", 0, 0.5)
    j1, j2, j3 = judge_all(run, [
        Claim(id="a", claim="x", metric="final_correct", kind="report", arm="a"),
        Claim(id="b", claim="x", metric="ratio", kind="report", arm="a"),
        Claim(id="c", claim="x", metric="ratio", kind="report", arm="a", protocol="HardVerify-Math, 250 pairs"),
    ])  # fmt: skip
    assert j1.detail["protocol"] == "x.task / test, 48 prompts, temperature 1, 4 samples per prompt"
    assert j2.detail["protocol"] == "" and j3.detail["protocol"] == "HardVerify-Math, 250 pairs"


def test_profiles_choose_seeds_and_explicit_seeds_win():
    assert compose_config(TOY_CONFIG, "cpu", []).seeds == [0, 1]  # quick: the config's seeds
    assert compose_config(TOY_CONFIG, "cpu", [], profile="full").seeds == [0, 1, 2, 3, 4]
    full = compose_config(TOY_CONFIG, "cpu", ["profile=full"])
    assert full.profile == "full" and full.seeds == [0, 1, 2, 3, 4]
    assert compose_config(TOY_CONFIG, "cpu", ["seeds=[7]"], profile="full").seeds == [7]
    cfg = OmegaConf.create({"seeds": None, "profiles": {"full": {"seeds": [0, 1, 2, 3, 4, 5]}}})
    assert profile_seeds(cfg, "full", explicit=False) == [0, 1, 2, 3, 4, 5]
    assert profile_seeds(cfg, "quick", explicit=False) == [0, 1, 2]
    with pytest.raises(ValueError, match="profile"):
        profile_seeds(cfg, "huge", explicit=False)


def test_a_seed_sets_init_sft_and_trainer_seeds_unless_pinned(tmp_path):
    run = _run(tmp_path, {"engine": {"model": {"sft": {"enabled": True}}},
                          "arms": {"a": {}, "b": {"model": {"init_seed": 11}}}, "tiny_verifier": {"steps": 3}})  # fmt: skip
    cfg = run.engine_config("a", 3)
    assert (cfg.trainer.seed, cfg.model.init_seed, cfg.model.sft.seed) == (3, 3, 3)
    pinned = run.engine_config("b", 3)
    assert (pinned.model.init_seed, pinned.model.sft.seed) == (11, 3)
    assert run.component_seed(4, "tiny_verifier") == 4
    off = _run(tmp_path, {"seed_pipeline": False, "engine": {}, "arms": {"a": {}}, "v": {"seed": 9}})
    cfg = off.engine_config("a", 3)
    assert (cfg.trainer.seed, cfg.model.init_seed, cfg.model.sft.seed) == (3, 0, 0)
    assert off.component_seed(4, "tiny_verifier") == 0 and off.component_seed(4, "v") == 9


def test_standard_items_attach_to_final_and_initial():
    history = [{"step": 0, "eval/correct": 0.5}, {"step": 5, "loss": 1.0}, {"step": 10, "eval/correct": 1.0}]
    by_step = {0: {"eval/correct": {"r1": 0.0, "r2": 1.0}}, 10: {"eval/correct": {"r1": 1.0, "r2": 1.0}}}
    items = standard_items(history, by_step)
    assert items == {"initial_correct": {"r1": 0.0, "r2": 1.0}, "final_correct": {"r1": 1.0, "r2": 1.0}}


def _full_run(runs: Path, paper: str, run_id: str, profile: str, verdicts: list[str]) -> None:
    d = runs / paper / run_id
    d.mkdir(parents=True)
    claims = [{"id": f"c{i}", "claim": f"claim {i}", "paper": "+1", "measured": f"m{i}", "verdict": v}
              for i, v in enumerate(verdicts)]  # fmt: skip
    d.joinpath("results.json").write_text(json.dumps({
        "paper": paper, "scale": "cpu", "profile": profile, "seeds": [0, 1, 2, 3, 4], "wall_time_s": 600.0,
        "environment": {"git_commit": "abc1234"}, "claims": claims}))  # fmt: skip


def test_results_regenerates_readmes_idempotently(tmp_path):
    from r1repro.repro.results import BEGIN, END, update_results

    root, runs = tmp_path / "repo", tmp_path / "runs"
    for paper in ("alpha", "beta"):
        (root / "reproductions" / paper).mkdir(parents=True)
        (root / "reproductions" / paper / "claims.yaml").write_text("claims: []\n")
        (root / "plugins" / paper).mkdir(parents=True)
        (root / "plugins" / paper / "README.md").write_text(
            f"# {paper}\n\n## Results\n{BEGIN}\nOLD-TEXT\n{END}\n\ntail\n"
        )
    (root / "README.md").write_text(f"# top\n{BEGIN}\n{END}\n")
    _full_run(runs, "alpha", "20260101-000000-cpu", "full", [stats.HELD, stats.NOT_HELD, stats.REPORTED])
    _full_run(runs, "alpha", "20260102-000000-cpu", "quick", [stats.INCONCLUSIVE])  # newer but quick: ignored
    quiet = lambda *_: None  # noqa: E731
    assert update_results(root, runs, check=True, log=quiet) == [
        root / "plugins/alpha/README.md",
        root / "README.md",
    ]
    update_results(root, runs, log=quiet)
    alpha = (root / "plugins/alpha/README.md").read_text()
    assert (
        "20260101-000000-cpu" in alpha
        and "abc1234" in alpha
        and "claim 1" in alpha
        and "did not hold" in alpha
    )
    assert alpha.endswith("\n\ntail\n") and "OLD-TEXT" not in alpha
    top = (root / "README.md").read_text()
    assert "| alpha | `20260101-000000-cpu` | `abc1234` | [0, 1, 2, 3, 4] | 10.0 min | 1 | 1 | 0 | 1 |" in top
    assert "No full-profile run yet: beta." in top
    assert "OLD-TEXT" in (root / "plugins/beta/README.md").read_text()  # no full run: left alone
    assert update_results(root, runs, check=True, log=quiet) == []  # idempotent
    from r1repro.cli import main

    (root / "README.md").write_text(f"# top\n{BEGIN}\nstale\n{END}\n")
    assert main(["results", "--root", str(root), "--runs", str(runs), "--check"]) == 1
    assert main(["results", "--root", str(root), "--runs", str(runs)]) == 0
    assert main(["results", "--root", str(root), "--runs", str(runs), "--check"]) == 0


def test_scaffold_states_the_rules_and_its_claims_load(tmp_path):
    from r1repro.repro.claims import load_claims
    from r1repro.repro.results import BEGIN, END
    from r1repro.scaffold import create_plugin

    (tmp_path / "reproductions").mkdir()
    root = create_plugin("mypaper", tmp_path / "plugins", title="My Paper")
    claims_yaml = tmp_path / "reproductions" / "mypaper" / "claims.yaml"
    _, claims = load_claims(claims_yaml)
    assert claims and claims[0].metric == "final_correct"
    text = claims_yaml.read_text()
    for rule in (
        "pre-registration",
        "revised after results",
        "report (shown, no verdict",
        "paired",
        "best_<k>",
    ):
        assert rule in text, rule
    readme = (root / "README.md").read_text()
    assert BEGIN in readme and END in readme and "PROFILE=full" in readme and "record_once" in readme
    assert "record_once" in (root / "r1repro_mypaper" / "reproduction.py").read_text()


def test_all_items_at_the_floor_in_every_seed_is_not_pseudo_replication(tmp_path):
    run = _run(tmp_path)
    for s in (0, 1, 2):
        run.record("acc", "t", s, 0.0, items=_items(0))
        run.record("acc", "b", s, 0.0, items=_items(0))
    j = judge(
        Claim(id="c", claim="x", metric="acc", treatment="t", baseline="b"), run.measurements, run.items
    )
    assert j.detail["diff"]["n"] == (3,) and j.verdict == stats.INCONCLUSIVE
    assert j.warnings and all("floor or a ceiling" in w and PSEUDO_WARNING not in w for w in j.warnings)


def test_gain_items_are_item_wise_differences(tmp_path):
    run = _run(tmp_path)
    run.record("final_correct", "a", 0, 0.5, items={"x": 1.0, "y": 0.0})
    run.record("initial_correct", "a", 0, 0.0, items={"x": 0.0, "y": 0.0})
    run.record("initial_correct", "a", 1, 0.0, items={"z": 0.0, "y": 0.0})
    run.record("final_correct", "a", 1, 0.5, items={"x": 1.0, "y": 0.0})
    assert run.gain_items("final_correct", "initial_correct", "a", 0) == {"x": 1.0, "y": 0.0}
    assert run.gain_items("final_correct", "initial_correct", "a", 1) is None  # different items
    assert run.items_of("final_correct", "b", 0) is None


def test_a_reproduction_can_state_the_protocol_of_its_own_measurements(tmp_path):
    run = _run(tmp_path)
    run.record("length@all", "a", 0, 20.0, items=[19.0, 21.0])
    run.set_protocol("length@all", "task / test, 2 prompts, temperature 0.6, 4 samples per prompt")
    (j,) = judge_all(run, [Claim(id="a", claim="x", metric="length@all", kind="report", arm="a")])
    assert j.detail["protocol"].startswith("task / test, 2 prompts")


def test_each_seed_gets_its_own_cached_warm_start(tmp_path, monkeypatch):
    """The SFT cache key hashes sft.seed and the init seed (through the base model's folder), so
    `ReproRun.engine_config(arm, seed)` gives one warm start per seed, shared by that seed's arms."""
    import r1repro.models.sft as sft
    from r1repro.registry import load_plugins

    trained = []

    def fake_train(base, pairs, out, **kw):
        trained.append((Path(base).name, kw["seed"]))
        out.mkdir(parents=True)
        (out / "config.json").write_text("{}")
        return out

    monkeypatch.setattr(sft, "train_sft", fake_train)
    monkeypatch.setenv("R1REPRO_CACHE", str(tmp_path / "cache"))
    run = _run(tmp_path, {"engine": {"model": {"path": "tiny:nano", "sft": {"enabled": True, "examples": 8}},
                                     "data": {"dataset": "toy.add", "template": "toy.tagged"}},
                          "arms": {"a": {}, "b": {"algorithm": {"adv_estimator": "toy.centered"}}}})  # fmt: skip
    reg = load_plugins()

    def path(arm, seed):
        c = run.engine_config(arm, seed)
        return sft.warm_start(c.model, c.model.sft, c.data, reg, quiet=True)

    assert path("a", 0) == path("b", 0) != path("a", 1)
    assert len(trained) == 2 and trained[0][1] == 0 and trained[1][1] == 1 and "init1" in trained[1][0]


def test_results_are_archived_with_the_claims_and_regenerate_without_runs(tmp_path):
    """runs/ is not in git: the cited report is archived under reproductions/<paper>/results/, a
    clean clone (no runs/) regenerates the same README, and rows from before the archive stay."""
    from r1repro.repro.results import BEGIN, END, update_results

    root, runs = tmp_path / "repo", tmp_path / "runs"
    for paper in ("alpha", "beta", "gamma"):
        (root / "reproductions" / paper).mkdir(parents=True)
        (root / "reproductions" / paper / "claims.yaml").write_text("claims: []\n")
        (root / "plugins" / paper).mkdir(parents=True)
        (root / "plugins" / paper / "README.md").write_text(f"# {paper}\n{BEGIN}\n{END}\n")
    old_row = "| beta | `20250101-000000-cpu` | `0ld0000` | [0, 1, 2, 3, 4] | 3.0 min | 2 | 0 | 0 | 0 |"
    (root / "README.md").write_text(f"# top\n{BEGIN}\n| paper | run |\n|---|---|\n{old_row}\n{END}\n")
    _full_run(runs, "alpha", "20260101-000000-cpu", "full", [stats.HELD])
    _full_run(runs, "alpha", "20260103-000000-cpu", "full", [stats.NOT_HELD])
    quiet = lambda *_: None  # noqa: E731
    update_results(root, runs, log=quiet)
    archived = sorted(p.name for p in (root / "reproductions/alpha/results").iterdir())
    assert archived == ["20260103-000000-cpu.json"]  # the newest full run only
    alpha, top = (root / "plugins/alpha/README.md").read_text(), (root / "README.md").read_text()
    assert "reproductions/alpha/results/20260103-000000-cpu.json" in alpha and "did not hold" in alpha
    assert old_row in top and "earlier generation" in top and ": beta." in top
    assert "No full-profile run yet: gamma." in top
    # a clean clone: no runs at all, same READMEs
    assert update_results(root, tmp_path / "no-runs", check=True, log=quiet) == []
    assert update_results(root, runs, check=True, log=quiet) == []


def test_the_readme_result_tables_are_what_the_archived_reports_generate(tmp_path):
    """Nobody types results: this checkout's README sections regenerate unchanged from the
    reports archived under reproductions/<paper>/results/ (no runs/ needed)."""
    from r1repro.paths import repo_root
    from r1repro.repro.results import update_results

    stale = update_results(repo_root(), tmp_path / "no-runs", check=True, log=lambda *_: None)
    assert stale == [], f"stale README results (run `make results`): {stale}"
