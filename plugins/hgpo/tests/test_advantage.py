"""Golden tests of HGPO's advantage (LHRM §3.2): A = GRPO(r_intra) + α·1[tag]·GRPO(r_inter)."""

import numpy as np
import pytest
import torch
from r1repro_hgpo.advantage import ALPHA, hgpo_advantage, tag_lengths, tag_mask

T, N = "think", "no_think"
S2 = 2**-0.5  # GRPO of [1, 0]: ±(0.5 / std) with torch's unbiased std sqrt(0.5)
S3 = 0.5 / (1 / 3) ** 0.5  # GRPO of [1, 1, 0, 0]: ±0.5 / sqrt(1/3)


def side(r_inter, r_intra, modes, **extra):
    return {"r_inter": np.array(r_inter, dtype=object), "r_intra": np.array(r_intra, dtype=object),
            "mode": np.array(modes, dtype=object), **{k: np.array(v, dtype=object) for k, v in extra.items()}}  # fmt: skip


def run(si, mask=None, index=None, **opts):
    n = len(si["r_inter"])
    mask = torch.ones(n, 5) if mask is None else mask
    index = np.array(["q"] * n, dtype=object) if index is None else index
    adv, ret = hgpo_advantage(torch.zeros_like(mask), mask, index, side_info=si, **opts)
    assert torch.equal(adv, ret)
    return adv


def test_alpha_is_one():
    assert ALPHA == 1.0


def test_golden_n4_per_mode_intra():
    adv = run(side([1, 1, 0, 0], [1, 0, 1, 1], [T, T, N, N]))
    expect_tail = torch.tensor([S2, -S2, 0.0, 0.0])
    expect_tag = expect_tail + torch.tensor([S3, S3, -S3, -S3])
    assert torch.allclose(adv[:, 1:], expect_tail.unsqueeze(-1).expand(4, 4), atol=1e-5)
    assert torch.allclose(adv[:, 0], expect_tag, atol=1e-5)
    assert adv[0, 0].item() == pytest.approx(1.5731, abs=1e-4)


def test_golden_n4_group_intra():
    # r_intra [1,0,1,1] over all four: mean 0.75, unbiased std 0.5
    adv = run(side([1, 1, 0, 0], [1, 0, 1, 1], [T, T, N, N]), intra_norm="group")
    assert torch.allclose(adv[:, 2], torch.tensor([0.5, -1.5, 0.5, 0.5]), atol=1e-5)
    assert torch.allclose(adv[:, 0] - adv[:, 2], torch.tensor([S3, S3, -S3, -S3]), atol=1e-5)


def test_alpha_scales_only_the_tag_token():
    si = side([1, 1, 0, 0], [1, 0, 1, 1], [T, T, N, N])
    a1, a2, a0 = run(si), run(si, alpha=2.0), run(si, alpha=0.0)
    assert torch.allclose(a2[:, 1:], a1[:, 1:]) and torch.allclose(a0[:, 1:], a1[:, 1:])
    assert torch.allclose(a2[:, 0] - a0[:, 0], 2 * (a1[:, 0] - a0[:, 0]), atol=1e-6)
    assert torch.allclose(a0[:, 0], a0[:, 1])


def test_tag_token_masking_options_and_recorded_spans():
    si = side([1, 1, 0, 0], [1, 1, 1, 1], [T, T, N, N])  # only the inter term is non-zero
    on = lambda adv: (adv.abs() > 1e-6).int().tolist()  # noqa: E731
    assert on(run(si)) == [[1, 0, 0, 0, 0]] * 4
    assert on(run(si, tag_tokens=3)) == [[1, 1, 1, 0, 0]] * 4
    assert on(run(si, tag_tokens={"think": 3, "no_think": 5})) == [[1, 1, 1, 0, 0]] * 2 + [[1] * 5] * 2
    # spans recorded by the rollout win over the option; a missing record falls back to it
    si2 = side(
        [1, 1, 0, 0], [1, 1, 1, 1], [T, T, N, N], tag_tokens=[2, None, 1, 1], tag_start=[1, 0, 0, None]
    )
    assert on(run(si2, tag_tokens=4)) == [[0, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 0, 0, 0, 0], [1, 0, 0, 0, 0]]


def test_padding_stays_zero():
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0.0]])
    adv = run(side([0, 0, 1, 1], [1, 0, 1, 0], [T, T, N, N]), mask=mask)
    assert torch.all(adv[mask == 0] == 0)
    assert torch.all(adv[mask == 1] != 0)


def test_groups_are_separate_and_singletons_get_no_intra_signal():
    index = np.array(["a", "a", "a", "b", "b", "b"], dtype=object)
    adv = run(side([1, 1, 0, 1, 0, 0], [1, 0, 1, 1, 1, 0], [T, T, N, N, T, T]), index=index)
    # group a: think pair [1,0] -> ±S2, lone no-think -> 0; group b: lone no-think 0, think pair [1,0] ±S2
    assert torch.allclose(adv[:, 1], torch.tensor([S2, -S2, 0, 0, S2, -S2]), atol=1e-5)
    inter_a = torch.tensor([1, 1, 0.0]) - 2 / 3
    inter_a = inter_a / inter_a.std()
    assert torch.allclose(adv[:3, 0] - adv[:3, 1], inter_a, atol=1e-4)


def test_intra_equals_verl_grpo_when_normalised_over_the_group():
    from r1repro.algos import core_algos

    r = [1.0, 0.0, 0.3, 0.8]
    index = np.array(["q"] * 4, dtype=object)
    adv = run(side([1, 1, 1, 1], r, [T, T, N, N]), intra_norm="group", index=index)
    scores = torch.zeros(4, 5)
    scores[:, -1] = torch.tensor(r)
    ref, _ = core_algos().compute_grpo_outcome_advantage(scores, torch.ones(4, 5), index)
    assert torch.allclose(adv, ref, atol=1e-6)


def test_without_side_info_it_says_how_to_get_it():
    with pytest.raises(RuntimeError, match="r1repro_sync"):
        hgpo_advantage(torch.zeros(2, 3), torch.ones(2, 3), np.array(["a", "a"], dtype=object))
    with pytest.raises(RuntimeError, match="hgpo.reward"):
        hgpo_advantage(
            torch.zeros(2, 3),
            torch.ones(2, 3),
            np.array(["a", "a"], dtype=object),
            side_info={"score": np.array([1.0, 0.0])},
        )
    with pytest.raises(RuntimeError, match="group stage"):
        run(side([float("nan"), 1.0], [1.0, 1.0], [T, N]))
    with pytest.raises(ValueError):
        run(side([1, 0], [1, 1], [T, N]), intra_norm="both")


def test_helpers():
    assert tag_lengths(2, np.array([T, N, "none"], dtype=object)).tolist() == [2, 2, 0]
    m = tag_mask(torch.ones(2, 4), np.array([1, 2]), np.array([0, 1]))
    assert m.tolist() == [[1, 0, 0, 0], [0, 1, 1, 0]]


def test_registered_in_verl_with_side_info():
    from r1repro import algos

    fn = algos.get_estimator("hgpo")
    assert algos.wants_side_info(fn)
    assert algos.core_algos().get_adv_estimator_fn("hgpo") is hgpo_advantage
