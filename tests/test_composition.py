"""The components compose: LASER-D's length shaping on top of the TinyV verifier, scaled by
DISCO's weights and trained with DISCO's no-std GRPO, in one config of the local engine.

    reward: {name: disco.weighted,                      # r' = r * w_dom * w_diff
             base: {name: laser.d,                      # r = r_acc + 0.5 * 1[correct, L <= L_T]
                    verifier: {name: tinyv.addon,       # rule first, the judge on rule-negatives
                               judge: {backend: stub, ...}}}}
    algorithm: {adv_estimator: grpo, norm_adv_by_std_in_grpo: false}

A few training steps on ``laser.step_chain`` with tiny:nano; the test spies on the engine's
advantage call and checks, sample by sample, that every layer did its part.
"""

from __future__ import annotations

import math
import sys
import types
from collections import Counter, defaultdict

import numpy as np
import pytest

pytest.importorskip("r1repro_laser")
pytest.importorskip("r1repro_disco")
pytest.importorskip("r1repro_tinyv")

pytestmark = pytest.mark.slow

JUDGE_MODULE = "_r1repro_composition_judge"
LENIENT = frozenset("bcdefh")
"""The stub verifier says "True" for these answers (a lenient judge: some are wrong)."""


def lenient_judge(prompt: str) -> str:
    answer = prompt.split("<model_answer>")[-1].split("</model_answer>")[0].strip()
    return "True" if answer in LENIENT else "False"


def composed_config(out_dir, steps: int = 3):
    from r1repro.testing import tiny_engine_config

    data = {"name": "laser.step_chain", "steps": [1, 2], "step_weights": [3, 1]}  # p_d = 0.75 / 0.25
    cfg = tiny_engine_config(
        model={"sft": {"steps": 120, "examples": 400, "lr": 0.01}},
        data={"dataset": data, "template": "laser.template", "max_prompt_length": 64},
        reward={
            "name": "disco.weighted",
            "dataset": data,
            "max_difficulty_weight": 4,  # LASER's base is shaped: cap 1/(SC+eps) (see DISCO's README)
            "base": {
                "name": "laser.d",
                "verifier": {"name": "tinyv.addon", "judge": {"backend": "stub", "fn": f"{JUDGE_MODULE}:lenient_judge"}},
                "lower": 2, "upper": 16, "interval": 2, "every": 2, "n_rollout": 4, "monitor_size": 6,
            },
        },
        algorithm={"adv_estimator": "grpo", "norm_adv_by_std_in_grpo": False},
        rollout={"n": 4, "max_new_tokens": 16},
        trainer={"total_steps": steps, "batch_size": 4, "save_every": 0, "out_dir": str(out_dir)},
        eval={"limit": 0},
    )  # fmt: skip
    return cfg


def test_laser_d_on_tinyv_with_disco_weights_trains(tmp_path, monkeypatch):
    from r1repro_disco.reward import domain_weight

    from r1repro import algos
    from r1repro.engine.local import LocalEngine, read_metrics

    judge = types.ModuleType(JUDGE_MODULE)
    judge.lenient_judge = lenient_judge
    monkeypatch.setitem(sys.modules, JUDGE_MODULE, judge)

    calls = []
    real = algos.compute_advantage

    def spy(name, rewards, mask, index, algo_cfg, side_info=None, options=None):
        adv, ret = real(name, rewards, mask, index, algo_cfg, side_info, options)
        calls.append({"name": name, "no_std": not algo_cfg.norm_adv_by_std_in_grpo, "rewards": rewards.clone(),
                      "mask": mask.clone(), "index": index, "info": side_info, "adv": adv.clone()})  # fmt: skip
        return adv, ret

    monkeypatch.setattr(algos, "compute_advantage", spy)
    engine = LocalEngine(composed_config(tmp_path, steps=3), quiet=True)
    engine.train()

    # the reward tree is the one the config describes, and the monitor of LASER-D ran
    disco, laser = engine.reward, engine.reward.base
    assert (disco.name, laser.name, laser.verifier.name) == ("disco.weighted", "laser.d", "tinyv.addon")
    assert laser.controller.updates == 2  # before step 1 and before step 3 (every 2 steps)

    assert len(calls) == 3 and all(c["name"] == "grpo" and c["no_std"] for c in calls)
    # w_dom = ln(1 + 1/p_d) with p_d counted over the training rows (~0.75 / 0.25: ~0.85 / ~1.6)
    shares = {d: n / len(engine.train_rows) for d, n in Counter(r.domain for r in engine.train_rows).items()}
    assert shares["1-step"] == pytest.approx(0.75, abs=0.03)
    w_dom_expected = {d: domain_weight(p) for d, p in shares.items()}
    seen_rescue = seen_length_bonus = 0
    for c in calls:
        info, mask, adv = c["info"], c["mask"].bool(), c["adv"]
        scores = c["rewards"].sum(-1).numpy()
        groups = defaultdict(list)
        for i, g in enumerate(c["index"]):
            groups[g].append(i)
        for i in range(len(scores)):
            # TinyV (addon): the judge is asked only when the rule says wrong, and its "True" counts
            rule_ok, called = bool(info["rule_correct"][i]), bool(info["llm_called"][i])
            assert called == (not rule_ok)
            answer_ok = rule_ok or (called and info["llm_verdict"][i] == 1.0)
            assert bool(info["answer_correct"][i]) == answer_ok
            # LASER-D: r_acc from that verdict, + 0.5 for a correct response within its bucket's L_T
            r_acc, bonus = float(info["r_acc"][i]), float(info["length_reward"][i])
            assert r_acc in (-1.0, -0.5, 1.0) and (r_acc == 1.0) <= answer_ok
            assert bonus == (
                0.5 if r_acc == 1.0 and info["response_length"][i] <= info["target_length"][i] else 0.0
            )
            assert float(info["disco_base_score"][i]) == pytest.approx(r_acc + bonus)
            seen_rescue += int(called and r_acc == 1.0)
            seen_length_bonus += int(bonus > 0)
            # DISCO: the training reward is LASER's times w_dom(domain) * w_diff(group accuracy)
            assert float(info["disco_w_dom"][i]) == pytest.approx(w_dom_expected[info["domain"][i]])
            assert scores[i] == pytest.approx(
                (r_acc + bonus) * info["disco_w_dom"][i] * info["disco_w_diff"][i]
            )
        for ix in groups.values():
            sc = np.mean([info["r_acc"][i] == 1.0 for i in ix])
            assert [float(info["disco_sc"][i]) for i in ix] == pytest.approx([sc] * len(ix))
            assert float(info["disco_w_diff"][ix[0]]) == pytest.approx(min(1 / (sc + 1e-5), 4.0))
            # no-std advantages: A = w_dom * w_diff * (r - mean r), token-constant over the response
            base = np.array([float(info["disco_base_score"][i]) for i in ix])
            w = float(info["disco_w_dom"][ix[0]]) * float(info["disco_w_diff"][ix[0]])
            for j, i in enumerate(ix):
                a = adv[i][mask[i]]
                assert a.numel() == 0 or float(a.max() - a.min()) < 1e-5
                if a.numel():
                    assert float(a[0]) == pytest.approx(w * (base[j] - base.mean()), abs=1e-4)
        # the same rewards under plain GRPO (std) would lose the weights: they cancel group by group
        gw = real("grpo", c["rewards"], c["mask"], c["index"], _std_cfg(True))[0]
        base_rewards = c["rewards"].clone()
        for i in range(len(scores)):
            base_rewards[i] *= float(info["disco_base_score"][i]) / scores[i]  # never 0: r_acc != 0
        gb = real("grpo", base_rewards, c["mask"], c["index"], _std_cfg(True))[0]
        assert np.allclose(gw.numpy(), gb.numpy(), atol=1e-3)
    assert seen_rescue > 0, "the stub judge never turned a rule-negative into LASER's +1"
    assert seen_length_bonus > 0, "no response ever earned LASER's length bonus"

    # the step metrics carry every layer's signals
    rows = [r for r in read_metrics(tmp_path) if r.get("step", 0) > 0]
    assert len(rows) == 3
    for r in rows:
        for key in ("reward/r_acc", "reward/length_reward", "reward/disco_w_dom", "reward/disco_w_diff",
                    "reward/llm_called", "reward/llm_share", "laser/monitor_responses_easy"):  # fmt: skip
            assert key in r and math.isfinite(r[key]), key


def _std_cfg(norm: bool):
    return types.SimpleNamespace(norm_adv_by_std_in_grpo=norm)
