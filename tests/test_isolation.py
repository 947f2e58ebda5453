"""Issue 12 §2: one bad sample never spoils a batch; a failure is never recorded as a verdict.

The core's guarded call (`Reward.__call__`) admits each sample (`admit_sample`: a non-string
response or a list group_id is an error on that sample only, lone surrogates are replaced),
falls back to scoring one by one when a batch raises, and to group by group when a group
stage raises; the worker pool hands back the real exception; judges report per-prompt
errors instead of "" (which a verifier would read as "False").
"""

import math
import time

import pytest

from r1repro.components import Reward, RewardUnavailable, admit_sample, sanitize_text
from r1repro.judge import JudgeUnavailable, StubJudge, build_judge
from r1repro.types import RewardResult, Sample


def _s(response, group_id="g", **kw):
    return Sample(response=response, ground_truth="7", problem="What is 3+4?", group_id=group_id, **kw)


class BatchOnly(Reward):
    """A batch reward whose batch code breaks on the word BAD (as real plugins did on one
    unreadable sample): the core must score the other samples anyway."""

    name = "test.batch_only"

    def score_batch(self, samples):
        if any("BAD" in s.response for s in samples):
            raise RuntimeError("batch code tripped on BAD")
        return [float("7" in s.response) for s in samples]


class GroupStageBreaks(BatchOnly):
    group_aware = True

    def combine(self, samples, results):
        if any(s.group_id == "broken" for s in samples):
            raise KeyError("group stage tripped")
        return [RewardResult(r.score + 1.0, r.info) for r in results]


def test_a_batch_exception_fails_only_the_sample_that_caused_it():
    res = BatchOnly()([_s("7"), _s("BAD"), _s("8"), _s("7")])
    assert [r.score for r in res] == [1.0, 0.0, 0.0, 1.0]
    assert ["error" in r.info for r in res] == [False, True, False, False]
    assert "batch code tripped on BAD" in res[1].info["error"]


def test_a_batch_fallback_runs_the_group_stage_once():
    res = GroupStageBreaks()([_s("7", "a"), _s("BAD", "a"), _s("8", "b")])
    assert [r.score for r in res] == [2.0, 1.0, 1.0]  # +1 once each; BAD failed (0) in its batch stage
    assert "batch code tripped on BAD" in res[1].info["error"]  # the failure stays visible


def test_a_group_stage_exception_fails_only_that_group():
    res = GroupStageBreaks()([_s("7", "a"), _s("7", "broken"), _s("8", "a")])
    assert [r.score for r in res] == [2.0, 0.0, 1.0]
    assert "KeyError" in res[1].info["error"] and "error" not in res[0].info


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ({"response": 123}, "'response' must be a string, got int"),
        ({"response": None}, "'response' must be a string, got NoneType"),
        ({"response": ["a"]}, "'response' must be a string, got list"),
        ({"response": "7", "group_id": ["g"]}, "'group_id' must be a string, got list"),
        ({"response": "7", "extra": "x"}, "'extra' must be an object"),
        ({"response": "7", "num_turns": "2"}, "'num_turns' must be an integer"),
    ],
)
def test_an_unreadable_sample_is_an_error_on_that_sample_only(bad, why):
    bad_sample = Sample(**{"ground_truth": "7", **bad})
    res = BatchOnly()([_s("7"), bad_sample, _s("7")])
    assert [r.score for r in res] == [1.0, 0.0, 1.0]
    assert why in res[1].info["error"]
    assert admit_sample(bad_sample)[0] is None


def test_lone_surrogates_are_replaced_before_the_plugin_sees_them():
    seen = []

    class Spy(BatchOnly):
        def score_batch(self, samples):
            seen.extend(samples)
            for s in samples:
                s.response.encode("utf-8")  # raises on a lone surrogate
            return super().score_batch(samples)

    res = Spy()([_s("x \ud800 7"), _s("7")])
    assert [r.score for r in res] == [1.0, 1.0] and all("error" not in r.info for r in res)
    assert seen[0].response == "x \ufffd 7"
    assert sanitize_text("ok") == "ok" and sanitize_text("\udfff") == "\ufffd"
    clean, _ = admit_sample(
        Sample(response="a", problem="q \ud800", prompt=[{"role": "user", "content": "\ud800"}])
    )
    assert clean.problem == "q \ufffd" and clean.prompt[0]["content"] == "\ufffd"


def test_the_worker_pool_returns_the_real_exception():
    from r1repro.testing import RaisingReward

    res = RaisingReward()([_s("fine"), _s("boom"), _s("fine too")])
    assert [r.score for r in res] == [1.0, 0.0, 1.0]
    assert res[1].info["error"] == "ValueError: boom in a worker"


def test_the_worker_pool_names_a_timeout():
    from r1repro.testing import HangingReward

    res = HangingReward()([_s("x")])
    assert "timed out after 0.5s" in res[0].info["error"]


# ------------------------------------------------------------------------------ judges
def _flaky(prompt):
    if "explode" in prompt:
        raise RuntimeError("the judge choked")
    return "True"


def test_a_judge_failure_on_one_prompt_is_that_prompt_s_error():
    judge = StubJudge(_flaky)
    replies, errors = judge.complete_checked(["a", "explode", "b \ud800"])
    assert replies == ["True", "", "True"]
    assert errors[0] is None and errors[2] is None
    assert "RuntimeError: the judge choked" in errors[1]
    assert judge.complete(["explode"]) == [""]  # the old interface keeps its shape


def test_a_judge_has_a_per_prompt_deadline():
    judge = StubJudge(lambda p: time.sleep(5) or "True", timeout_s=0.2)
    t0 = time.perf_counter()
    _, errors = judge.complete_checked(["slow"])
    assert time.perf_counter() - t0 < 3
    assert "timed out" in errors[0]


def test_a_bad_judge_spec_fails_when_built():
    with pytest.raises(ValueError, match="unknown judge backend"):
        build_judge({"backend": "nope"})
    with pytest.raises(ValueError, match="unexpected keyword argument 'bogus'"):
        build_judge({"backend": "transformers", "model": "tiny:nano", "bogus": 1})
    with pytest.raises(ValueError, match="bad 'stub' judge spec"):
        build_judge({"backend": "stub", "fn": "no_such_module_xyz:f"})


@pytest.mark.slow  # the first transformers import dominates (~10-20 s on a busy CPU)
def test_a_judge_that_cannot_load_is_unavailable_on_every_prompt_and_check_raises():
    judge = build_judge({"backend": "transformers", "model": "/nonexistent/judge-model"})
    replies, errors = judge.complete_checked(["a", "b"])
    assert replies == ["", ""]
    assert all(e and "could not be loaded" in e for e in errors)
    with pytest.raises(JudgeUnavailable, match="could not be loaded"):  # check() loads first, then asks
        judge.check()


def test_an_unavailable_judge_is_an_error_never_a_false_verdict():
    from r1repro.registry import build

    reward = build("reward", {"name": "tinyv.tinyv_only", "judge": {"backend": "transformers",
                                                                     "model": "/nonexistent/judge-model"}})  # fmt: skip
    res = reward([_s("The answer is \\boxed{7}"), _s("The answer is \\boxed{8}")])
    for r in res:
        assert "could not be loaded" in r.info["error"]
        assert math.isnan(r.info["llm_verdict"]) and r.info["llm_called"] == 1.0
    with pytest.raises(RewardUnavailable, match="tinyv.tinyv_only.*could not be loaded"):
        reward.preflight()


def test_a_tinyv_judge_failing_on_one_prompt_fails_only_that_sample():
    from r1repro.registry import build

    reward = build("reward", {"name": "tinyv.tinyv_only", "retries": 1,
                              "judge": {"backend": "stub", "fn": "tests.test_isolation:_flaky"}})  # fmt: skip
    res = reward([_s("\\boxed{7}"), _s("\\boxed{explode}"), _s("\\boxed{9}")])
    assert [r.score for r in res] == [1.0, 0.0, 1.0]
    assert "error" not in res[0].info and "the judge choked" in res[1].info["error"]
    assert math.isnan(res[1].info["llm_verdict"])


def test_a_bad_judge_spec_fails_when_the_reward_is_built():
    from r1repro.registry import ComponentLoadError, build

    with pytest.raises(ComponentLoadError, match="unknown judge backend"):
        build("reward", {"name": "tinyv.addon", "judge": {"backend": "nope"}})


def test_the_engine_refuses_to_train_when_the_judge_cannot_answer(tmp_path):
    from r1repro.engine.local import LocalEngine
    from r1repro.testing import tiny_engine_config

    cfg = tiny_engine_config(
        reward={
            "name": "tinyv.addon",
            "judge": {"backend": "transformers", "model": "/nonexistent/judge-model"},
        },
        model={"sft": {"enabled": False}},
    )
    cfg.trainer.out_dir = str(tmp_path / "run")
    with pytest.raises(RewardUnavailable, match="could not be loaded"):
        LocalEngine(cfg, quiet=True).train()
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.slow
def test_a_real_tiny_judge_scores_a_batch_with_a_lone_surrogate():
    """The observed failure: a lone surrogate made the (real) tokenizer fail the whole judge
    batch, and every sample was recorded as a "False" verdict."""
    from r1repro.registry import build

    reward = build("reward", {"name": "tinyv.tinyv_only", "retries": 0,
                              "judge": {"backend": "transformers", "model": "tiny:nano", "max_tokens": 2}})  # fmt: skip
    res = reward([_s("\\boxed{7}"), _s("x \ud800 \\boxed{\udfff}"), _s("\\boxed{9}"), _s(123)])
    assert [("error" in r.info) for r in res] == [False, False, False, True]
    assert all(r.info["llm_verdict"] in (0.0, 1.0) for r in res[:3])


def test_preflight_reaches_a_judge_inside_a_composite_reward():
    from r1repro.registry import build

    tv = {"name": "tinyv.addon", "judge": {"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1",
                                           "max_retries": 0}}  # fmt: skip
    reward = build("reward", {"name": "core.weighted_sum", "terms": [{"reward": tv, "weight": 1.0}]})
    with pytest.raises(RewardUnavailable, match="tinyv.addon.*judge request failed"):
        reward.preflight()
    build("reward", "core.exact_match").preflight()  # no judge: nothing to check
