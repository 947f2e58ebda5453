"""Golden tests of the safety-subspaces analysis (arXiv 2505.14185, official CERT-Lab/safety-subspaces)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from r1repro_safety_subspaces import activations, subspace, task
from r1repro_safety_subspaces.reproduction import kept_share, pearson, selectivity


def _checkpoints(seed: int = 0, shapes=((12, 8), (8, 8), (8,))):
    g = torch.Generator().manual_seed(seed)
    names = [f"w{i}" for i in range(len(shapes))]
    base = {n: torch.randn(*s, generator=g) for n, s in zip(names, shapes)}
    aligned = {n: w + 0.5 * torch.randn(*w.shape, generator=g) for n, w in base.items()}
    ft = {n: w + 0.3 * torch.randn(*w.shape, generator=g) for n, w in aligned.items()}
    return base, aligned, ft


# ----------------------------------------------------------------- Exp. 1-2: projections
def test_rank_for_fraction_matches_official_rounding():
    assert subspace.rank_for_fraction((64, 192), 0.25) == 16
    assert subspace.rank_for_fraction((64, 192), 0.01) == 1  # max(1, round(0.64))
    assert subspace.rank_for_fraction((64, 192), 0.99) == 63


def test_same_plus_orth_is_the_update_and_opp_is_minus_same():
    base, aligned, ft = _checkpoints()
    for frac in subspace.PAPER_FRACS:
        same, _ = subspace.project_checkpoint(base, aligned, ft, "same", frac)
        orth, _ = subspace.project_checkpoint(base, aligned, ft, "orth", frac)
        opp, _ = subspace.project_checkpoint(base, aligned, ft, "opp", frac)
        for n in ft:
            torch.testing.assert_close((same[n] - aligned[n]) + (orth[n] - aligned[n]), ft[n] - aligned[n])
            torch.testing.assert_close(opp[n] - aligned[n], -(same[n] - aligned[n]))


def test_energy_kept_is_monotone_in_the_fraction_and_complements_orth():
    base, aligned, ft = _checkpoints(1)
    kept = [
        subspace.project_checkpoint(base, aligned, ft, "same", f)[1].energy_kept for f in subspace.PAPER_FRACS
    ]
    assert all(b >= a - 1e-6 for a, b in zip(kept, kept[1:])), kept
    assert kept[0] < 0.5 < kept[-1]
    for frac in (0.25, 0.75):
        e_same = subspace.project_checkpoint(base, aligned, ft, "same", frac)[1].energy_kept
        e_orth = subspace.project_checkpoint(base, aligned, ft, "orth", frac)[1].energy_kept
        assert e_same + e_orth == pytest.approx(1.0, abs=1e-5)  # an orthogonal split of ΔT


def test_parallel_component_is_l_lt_update_for_matrices_and_1d_projection_otherwise():
    g = torch.Generator().manual_seed(3)
    delta_a, delta_t = torch.randn(10, 6, generator=g), torch.randn(10, 6, generator=g)
    u, _, _ = torch.linalg.svd(delta_a, full_matrices=False)
    basis = u[:, :3]  # round(0.5 * 6) = 3
    torch.testing.assert_close(subspace.parallel_component(delta_t, delta_a, 0.5), basis @ basis.T @ delta_t)
    # frac outside (0, 1) and 1-D tensors: (<ΔT, ΔA> / ||ΔA||²) ΔA (official :109-120)
    coeff = torch.sum(delta_t * delta_a) / torch.sum(delta_a * delta_a)
    torch.testing.assert_close(subspace.parallel_component(delta_t, delta_a, 1.0), coeff * delta_a)
    v_a, v_t = delta_a[:, 0], delta_t[:, 0]
    c1 = torch.sum(v_t * v_a) / torch.sum(v_a * v_a)
    torch.testing.assert_close(subspace.parallel_component(v_t, v_a, 0.5), c1 * v_a)


def test_same_projection_of_a_full_rank_alignment_keeps_everything():
    g = torch.Generator().manual_seed(4)
    # 4 x 4: round(0.99 * 4) = 4, the full column space
    base = {"w": torch.randn(4, 4, generator=g)}
    aligned = {"w": base["w"] + torch.randn(4, 4, generator=g)}
    ft = {"w": aligned["w"] + torch.randn(4, 4, generator=g)}
    d = subspace.project_checkpoint(base, aligned, ft, "same", 0.99)[1]
    assert d.energy_kept == pytest.approx(1.0, abs=1e-5) and d.cosine_task_proj == pytest.approx(
        1.0, abs=1e-5
    )


def test_correct_cosine_and_the_official_bug():
    v = torch.randn(20, generator=torch.Generator().manual_seed(5))
    u = 2.0 * v
    uv, uu, vv = float(u @ v), float(u @ u), float(v @ v)
    assert subspace.cosine(uv, uu, vv) == pytest.approx(1.0)  # parallel updates
    # official: <U,V> / (sqrt(<U,V>) sqrt(<V,V>)) = sqrt(<U,V>) / ||V|| = sqrt(2) here, not scale-free
    assert subspace.official_cosine_task_align(uv, vv) == pytest.approx(math.sqrt(2.0), rel=1e-6)
    assert subspace.cosine(-uv, uu, vv) == pytest.approx(-1.0)
    assert math.isnan(subspace.official_cosine_task_align(-uv, vv))  # complex in the official code


def test_mismatched_checkpoints_are_one_clear_error():
    base, aligned, ft = _checkpoints()
    ft = {**ft, "w0": torch.zeros(3, 3)}
    with pytest.raises(ValueError, match="shapes differ"):
        subspace.project_checkpoint(base, aligned, ft, "same", 0.5)
    with pytest.raises(ValueError, match="unknown projection variant"):
        subspace.applied_update(torch.zeros(2), torch.zeros(2), "sideways")


# ----------------------------------------------------------------- Exp. 3: MSO
def test_energy_basis_picks_the_smallest_k_reaching_eta():
    mat = torch.diag(torch.tensor([3.0, 2.0, 1.0, 0.0]))  # energies 9, 13, 14, 14 of 14
    assert subspace.energy_basis(mat, 0.5)[1] == 1  # 7 <= 9
    assert subspace.energy_basis(mat, 0.7)[1] == 2  # 9.8 <= 13
    assert subspace.energy_basis(mat, 0.99)[1] == 3
    assert subspace.energy_basis(torch.zeros(3, 3), 0.9) is None


def test_mso_of_a_subspace_with_itself_is_one_and_of_orthogonal_ones_zero():
    x = torch.randn(32, 16, generator=torch.Generator().manual_seed(6))
    q, k = subspace.energy_basis(x, 0.9)
    assert subspace.mso(q, q) == pytest.approx(1.0, abs=1e-5)
    e = torch.eye(8)
    assert subspace.mso(e[:, :3], e[:, 3:6]) == pytest.approx(0.0)
    assert subspace.mso(e[:, :2], e[:, :5]) == pytest.approx(1.0)  # one contains the other
    assert subspace.matrix_overlap("x", x, x, 0.9).mso == pytest.approx(1.0, abs=1e-5)


def test_random_updates_overlap_near_the_random_baseline():
    g = torch.Generator().manual_seed(7)
    d, found = 128, []
    for _ in range(6):
        row = subspace.matrix_overlap(
            "r", torch.randn(d, 64, generator=g), torch.randn(d, 64, generator=g), 0.5
        )
        found.append((row.mso, row.mso_random))
    mean_mso = sum(m for m, _ in found) / len(found)
    mean_random = sum(r for _, r in found) / len(found)
    assert row.mso_random == max(row.k_a, row.k_b) / d
    assert abs(mean_mso - mean_random) < 0.03, (mean_mso, mean_random)


def test_weight_overlap_per_tensor_skips_1d_unless_asked():
    base, a, b = _checkpoints(8)
    rows = subspace.weight_overlap(base, a, b, 0.9)
    assert [r.group for r in rows] == ["w0", "w1"]
    assert [r.group for r in subspace.weight_overlap(base, a, b, 0.9, only_2d=False)] == ["w0", "w1", "w2"]
    same = subspace.weight_overlap(base, a, a, 0.9)
    assert all(r.mso == pytest.approx(1.0, abs=1e-5) for r in same)


# ----------------------------------------------------------------- Exp. 4: activations
def test_layer_window_is_065_to_090_of_the_hidden_states():
    assert activations.layer_window(17) == [11, 12, 13, 14]  # Llama-3.2-1B: 16 blocks + embeddings
    assert activations.layer_window(5) == [3]  # tiny:micro
    assert activations.layer_window(3) == [1]  # too shallow: the one layer at the window's start


def test_last_token_states_ignore_padding():
    from r1repro.models.tiny import load_policy

    torch.manual_seed(0)
    model, tok = load_policy("tiny:nano")
    short, long = "secret code of 1 2 3", "reverse 4 5 6 and then Compute 12 + 30 please"
    alone = activations.last_token_states(model, tok, [short])
    padded = activations.last_token_states(model, tok, [long, short])
    assert len(alone) == model.config.num_hidden_layers + 1
    for layer in range(len(alone)):
        torch.testing.assert_close(padded[layer][1], alone[layer][0], atol=1e-4, rtol=1e-4)


def test_activation_overlap_of_identical_prompt_sets_is_one():
    g = torch.Generator().manual_seed(9)
    states = [torch.randn(20, 16, generator=g) for _ in range(5)]
    rows = activations.activation_overlap(states, states, 0.9)
    assert [r.group for r in rows] == ["layer3"] and rows[0].mso == pytest.approx(1.0, abs=1e-5)
    assert rows[0].d == 16


# ----------------------------------------------------------------- task and summaries
def test_task_splits_are_disjoint_and_contamination_adds_20_percent():
    splits = task.split_codes(0, n_test=50)
    train = {" ".join(c) for c in splits.train_codes}
    assert not train & {" ".join(c) for c in splits.test_codes}
    mix = task.stage_data("contaminated", splits, 100, seed=0)
    assert sum(e.kind == "useful" for e in mix) == 100 and sum(e.kind == "harmful" for e in mix) == 20
    aligned = task.stage_data("aligned", splits, 10, seed=0)
    assert {e.response for e in aligned if e.kind == "harmful"} == {task.REFUSAL}
    base = task.stage_data("base", splits, 10, seed=0)
    assert all(e.response == e.prompt.removeprefix("secret code of ") for e in base if e.kind == "harmful")
    evals = task.eval_sets(splits)
    assert evals["utility"][0].response == " ".join(reversed(splits.test_codes[0]))
    assert task.stage_data("useful", splits, 5, 1) != task.stage_data("useful", splits, 5, 2)  # seeded


def test_selectivity_and_co_movement_summaries():
    aligned, full = {"utility": 0.0, "harm": 0.0}, {"utility": 1.0, "harm": 0.8}
    together = {"a": {"utility": 0.5, "harm": 0.4}, "b": {"utility": 1.0, "harm": 0.8}}
    assert selectivity(together, aligned, full) == pytest.approx(0.0)
    selective = {**together, "c": {"utility": 1.0, "harm": 0.0}}
    assert selectivity(selective, aligned, full) == pytest.approx(1.0)
    assert kept_share(0.5, 0.5, 0.5) == 0.0
    assert pearson([0, 1, 2], [0, 2, 4]) == pytest.approx(1.0)
    assert pearson([0, 1, 2], [1, 1, 1]) == 0.0


# ----------------------------------------------------------------- command line
def test_cli_projects_two_saved_checkpoints_and_reports_errors_in_one_line(tmp_path, capsys):
    from r1repro_safety_subspaces.cli import main

    from r1repro.models.tiny import load_policy, save_model_dir

    model, tok = load_policy("tiny:nano")
    paths = {}
    for i, name in enumerate(("base", "aligned", "ft")):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.01 * (i + 1) * torch.randn_like(p))
        paths[name] = str(save_model_dir(model, tok, tmp_path / name))
    assert main(["project", "--base", paths["base"], "--aligned", paths["aligned"], "--finetuned", paths["ft"],
                 "--variant", "same", "orth", "--frac", "0.25"]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    energies = [p["energy_kept"] for p in result["projections"]]
    assert sum(energies) == pytest.approx(1.0, abs=1e-4)
    assert main(["mso", "--reference", paths["base"], paths["aligned"], paths["ft"], "--eta", "0.5"]) == 0
    mso = json.loads(capsys.readouterr().out)["results"][0]
    assert 0.0 <= mso["mean_mso"] <= 1.0 and mso["tensors"]
    assert main(["project", "--base", str(tmp_path / "nope"), "--aligned", paths["aligned"],
                 "--finetuned", paths["ft"]]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert main(["paper"]) == 0 and "gpt-4o-mini" in capsys.readouterr().out


# ----------------------------------------------------------------- the reproduction, end to end
@pytest.mark.slow
def test_tiny_reproduction_records_every_claimed_measurement(tmp_path, monkeypatch):
    from pathlib import Path

    from r1repro.repro.run import run_reproduction

    monkeypatch.setenv("R1REPRO_RUNS", str(tmp_path))
    summary = run_reproduction("safety_subspaces", overrides=[
        "seeds=[0]", "safety.test_prompts=16", "safety.fracs=[0.25,0.75]",
        "safety.stages.base.steps=3", "safety.stages.base.examples=64",
        "safety.stages.aligned.steps=2", "safety.stages.aligned.examples=64",
        "safety.stages.finetune.steps=2", "safety.stages.finetune.examples=64"], quiet=True)  # fmt: skip
    res = json.loads((Path(summary["out_dir"]) / "results.json").read_text())
    meas = res["measurements"]
    assert set(meas["harm"]) >= {
        "base",
        "aligned",
        "useful",
        "harmful",
        "contaminated",
        "same@0.25",
        "orth@0.75",
    }
    for metric in ("utility_harm_corr", "selectivity", "weight_mso", "activation_mso"):
        assert metric in meas, metric
    assert set(summary["verdicts"]) >= {"weight_mso_above_random", "no_selective_safety_subspace"}
    report = (Path(summary["out_dir"]) / "report.md").read_text()
    assert "official cos" in report
