"""Contracts every plugin inherits: adding a plugin adds its components here, with no extra code.

* every reward, on the adversarial corpus: a finite score for every sample, within its timeout;
* every template: renders the problem, and parse(format_response(...)) gives the parts back;
* every dataset: its offline fixture matches the Row schema (and needs no I/O);
* every reproduction: configs compose at both scales, claims name real arms and kinds, every
  component an arm names exists, and the paper preset composes into a config verl accepts.
"""

import pytest

from r1repro.registry import load_plugins, split_spec
from r1repro.testing import (
    ADVERSARIAL_GROUND_TRUTHS,
    adversarial_samples,
    build_example,
    check_reward,
    check_row,
)

REG = load_plugins()


def _build(kind, name):
    return build_example(REG, kind, name)


@pytest.mark.parametrize("name", REG.names("reward"))
def test_reward_survives_adversarial_output(name):
    reward = _build("reward", name)
    # The killable pool stops a sample at any budget; 1 s exercises the same path as the default
    # 5-10 s in a fifth of the time (a handful of corpus entries run until they are killed).
    stack = [reward]
    while stack:
        part = stack.pop()
        if getattr(part, "isolate", False):
            part.timeout_s = min(part.timeout_s, 1.0)
        stack.extend(part.children() if hasattr(part, "children") else [])
    for gt in ADVERSARIAL_GROUND_TRUTHS[:2]:
        results, _ = check_reward(reward, adversarial_samples(ground_truth=gt))
        assert all(isinstance(r.info, dict) for r in results)


@pytest.mark.parametrize("name", REG.names("template"))
def test_template_renders_and_round_trips(name):
    tpl = _build("template", name)
    messages = tpl.render("What is 6 times 7?")
    assert isinstance(messages, list) and messages and all({"role", "content"} <= set(m) for m in messages)
    assert any("What is 6 times 7?" in m["content"] for m in messages)
    assert messages[-1]["role"] == "user"
    answers = list(tpl.example_answers)
    for answer, think in zip(answers, ["6 * 7 = 42", None, "pairs"] * len(answers)):
        text = tpl.format_response(answer=answer, think=think)
        parsed = tpl.parse(text)
        assert parsed.answer is not None and parsed.answer.strip() == answer, (text, parsed)
        if think is not None and parsed.think is not None:
            assert parsed.think.strip() == think
    assert tpl.parse("").answer in (None, "")  # parsing never raises on junk
    tpl.parse("\ud800 <answer>" * 100)


@pytest.mark.parametrize("name", REG.names("dataset"))
def test_dataset_fixture_matches_the_row_schema(name, monkeypatch):
    import socket

    def no_network(*a, **k):
        raise AssertionError("a fixture must not touch the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    ds = _build("dataset", name)
    rows = ds.fixture()
    assert rows, "a fixture has at least one row"
    for row in rows:
        assert check_row(row) == [], (row.id, check_row(row))


def _kind_of(path):
    return {
        "reward": "reward",
        "data.dataset": "dataset",
        "data.template": "template",
        "eval.reward": "reward",
        "eval.dataset": "dataset",
        "rollout.strategy": "rollout",
        "rollout.environment": "environment",
        "model.sft.dataset": "dataset",
    }.get(path)


def _component_refs(cfg, prefix=""):
    from omegaconf import OmegaConf

    out = []
    for key in (
        "reward",
        "data.dataset",
        "data.template",
        "eval.reward",
        "eval.dataset",
        "rollout.strategy",
        "rollout.environment",
        "model.sft.dataset",
    ):
        node = OmegaConf.select(cfg, key)
        if node is not None:
            out.append((_kind_of(key), node))
    est = OmegaConf.select(cfg, "algorithm.adv_estimator")
    return out, est


def _nested_reward_names(spec):
    name, options = split_spec(spec)
    names = [name]
    for v in options.values():
        if isinstance(v, dict) and "name" in v:
            names += _nested_reward_names(v)
        if isinstance(v, list):
            for x in v:
                if isinstance(x, dict):
                    for y in x.values():
                        if isinstance(y, dict | str) and (isinstance(y, dict) and "name" in y):
                            names += _nested_reward_names(y)
    return names


@pytest.mark.parametrize("name", REG.names("reproduction"))
def test_reproduction_configs_and_claims_are_consistent(name):
    from r1repro.repro.claims import load_claims
    from r1repro.repro.run import ReproRun, compose_config

    repro = _build("reproduction", name)
    cfg_dir = repro.resolve_config_dir()
    assert (cfg_dir / "config.yaml").exists() and (cfg_dir / "claims.yaml").exists()
    meta, claims = load_claims(cfg_dir / "claims.yaml")
    assert claims, "a reproduction states at least one claim"
    cfg = compose_config(cfg_dir, "cpu", [])
    assert len(cfg.seeds) >= (2 if name == "toy" else 3), "at least 3 seeds at CPU scale"
    run = ReproRun(name=name, scale="cpu", cfg=cfg, out_dir=cfg_dir, reproduction=repro, registry=REG)
    arms = [*run.arms, *repro.derived_arms]
    for c in claims:
        for arm in (c.treatment, c.baseline, c.arm):
            assert arm is None or arm in arms or c.kind in ("match", "report"), (
                f"claim {c.id} names arm {arm}"
            )
        assert c.source, f"claim {c.id} cites its source (section / table)"
    for arm in arms:
        ec = run.engine_config(arm, 0)
        refs, est = _component_refs(ec)
        for kind, spec in refs:
            if kind == "reward":
                for rn in _nested_reward_names(spec):
                    REG.entry("reward", rn)
            else:
                REG.entry(kind, split_spec(spec)[0])
        if est not in ("grpo", "gae") and est not in REG.names("estimator"):
            import r1repro.algos as algos

            algos.get_estimator(est)  # a verl built-in name
    compose_config(cfg_dir, "paper", [])


@pytest.mark.verl
@pytest.mark.parametrize("name", REG.names("reproduction"))
def test_paper_preset_composes_into_a_config_verl_accepts(name, tmp_path):
    from r1repro.repro.run import compose_config
    from r1repro.verl_bridge import config as vcfg

    repro = _build("reproduction", name)
    cfg = compose_config(repro.resolve_config_dir(), "paper", [])
    if "verl" not in cfg and cfg.get("not_runnable"):  # an analysis / data study: no RL to launch
        assert "cannot" in str(cfg.not_runnable), f"{name}: not_runnable must say what cannot run"
        return
    assert "verl" in cfg, f"{name}: scale/paper.yaml needs a verl: preset"
    ov = vcfg.preset_overrides(cfg.verl, str(tmp_path / "train.parquet"), str(tmp_path / "val.parquet"))
    vcfg.validate(vcfg.compose(ov))
    if cfg.verl.get("reward") is not None:
        for rn in _nested_reward_names(cfg.verl.reward):
            REG.entry("reward", rn)


# --- issue 12 §2: one bad sample never spoils a batch; a failure is never a verdict ------------
def _isolation_samples():
    from r1repro.types import Sample

    def s(response, group_id, uid):
        return Sample(response=response, ground_truth="42", problem="What is 6*7?", data_source="r1repro/adversarial",
                      domain="math", group_id=group_id, uid=uid, response_length=12)  # fmt: skip

    good = [
        s("6*7 = 42. The answer is \\boxed{42}", "good", "right"),
        s("The answer is \\boxed{41}", "good", "wrong"),
    ]
    bad = [
        s(123, "bad", "int"),
        s("x \ud800 \\boxed{\udfff}", "bad2", "surrogate"),
        s("fine", ["g"], "list_group"),
    ]
    return good, [bad[0], good[0], bad[1], good[1], bad[2]]


def _same(a, b):
    return (a.score, "error" in a.info) == (b.score, "error" in b.info)


@pytest.mark.parametrize("name", REG.names("reward"))
def test_one_bad_sample_never_spoils_the_batch(name):
    """A non-string response, a lone surrogate and a list group_id in the batch change nothing
    for the other samples; the unreadable ones are errors on themselves only."""
    good, mixed = _isolation_samples()
    alone = _build("reward", name)(good)
    res = _build("reward", name)(mixed)
    assert _same(res[1], alone[0]) and _same(res[3], alone[1]), (name, alone, res)
    assert "must be a string" in res[0].info["error"] and "must be a string" in res[4].info["error"]


JUDGED = [n for n in REG.names("reward")
          if "judge" in (getattr(REG.entry("reward", n).load(), "contract_example", dict)() or {})]  # fmt: skip


def _with_judge(name, judge, **options):
    obj = REG.entry("reward", name).load()
    return REG.build("reward", {"name": name, **obj.contract_example(), "judge": judge, **options})


@pytest.mark.slow
@pytest.mark.parametrize("name", JUDGED)
def test_a_real_tiny_judge_isolates_a_bad_sample(name):
    """With a real (tiny) transformers judge, not only the stub: the lone surrogate that used
    to fail the tokenizer for the whole judge batch fails nothing."""
    good, mixed = _isolation_samples()
    judge = {"backend": "transformers", "model": "tiny:nano", "max_tokens": 2}
    res = _with_judge(name, judge, max_tokens=2)(mixed)  # the reward's own max_tokens overrides the judge's
    assert ["error" in r.info for r in res] == [True, False, False, False, True], [r.info for r in res]


@pytest.mark.parametrize("name", JUDGED)
def test_a_judge_that_cannot_load_is_an_error_never_a_verdict(name):
    from r1repro.components import RewardUnavailable

    reward = _with_judge(name, {"backend": "transformers", "model": "/nonexistent/judge-model"})
    good, _ = _isolation_samples()
    res = reward(good)
    assert all(
        "could not be loaded" in r.info.get("error", "") for r in res if r.info.get("llm_called", 1.0)
    ), res
    assert any("error" in r.info for r in res)
    with pytest.raises(RewardUnavailable, match="could not be loaded"):
        reward.preflight()
    with pytest.raises(Exception, match="unknown judge backend"):
        _with_judge(name, {"backend": "no-such-backend"})
