"""The official-vs-ours machinery (`r1repro.verl_bridge.fidelity`) catches what it must."""

import pytest

from r1repro.verl_bridge import fidelity as f


def test_same_compares_config_values_by_value():
    assert f.same(1e-6, 1.0e-06) and f.same(10, 10.0) and f.same([0.9, 0.95], (0.9, 0.95))
    assert not f.same(True, 1) and not f.same(0.2, 0.28) and not f.same("a", ["a"])


def test_mismatches_flag_wrong_values_missing_keys_and_unjustified_deviations():
    table = [
        f.Setting("a.lr", 1e-6, "x.sh:1"),
        f.Setting("a.clip", 0.3, "x.sh:2"),
        f.deviation("a.gpus", 8, "x.sh:3", 4, "fewer GPUs"),
        f.Setting("a.missing", 1, "x.sh:4"),
        f.deviation("a.n", 8, "x.sh:5", 4, ""),
        f.note("engine", "OpenRLHF", "x.sh:6", "verl", "ported"),
    ]
    settings = {"a.lr": 1.0e-06, "a.clip": 0.2, "a.gpus": 4, "a.n": 4}
    problems = f.mismatches(table, settings)
    assert len(problems) == 3, problems
    assert any(p.startswith("a.clip: composed 0.2, official 0.3") for p in problems)
    assert any(p.startswith("a.missing: not in the composed config") for p in problems)
    assert any(p.startswith("a.n: a deviation") for p in problems)
    md = f.markdown_table(table, settings)
    assert "| `a.gpus` | `8` | x.sh:3 | `4` | deviation: fewer GPUs |" in md
    assert "| engine | `OpenRLHF` | x.sh:6 | `verl` | note: ported |" in md


def test_flatten_keeps_lists_and_empty_sections():
    assert f.flatten({"a": {"b": 1, "c": [1, 2], "d": {}}}) == {"a.b": 1, "a.c": [1, 2], "a.d": {}}


@pytest.mark.verl
def test_a_preset_that_drifts_from_the_official_table_is_caught():
    bad = f.composed_settings("tapo", ["verl.model=Qwen/Qwen2.5-7B", "verl.n_gpus_per_node=4"])
    problems = f.mismatches(f.official_table("tapo"), bad)
    assert [p.split(":")[0] for p in problems] == ["actor_rollout_ref.model.path", "trainer.n_gpus_per_node"]
    assert "composed 'Qwen/Qwen2.5-7B', official 'Qwen/Qwen2.5-Math-7B'" in problems[0]


@pytest.mark.verl
def test_the_dry_run_table_shows_official_and_ours_and_flags_drift():
    from r1repro.registry import get_registry
    from r1repro.repro.run import compose_config

    preset = compose_config(get_registry().build("reproduction", "disco").resolve_config_dir(), "paper", []).verl
    lines: list[str] = []
    f.print_dry_run_table("disco", f.composed_config("disco"), preset, out=lines.append)
    assert lines[0].startswith("# official vs ours (disco")
    assert "| `actor_rollout_ref.actor.loss_agg_mode` | `seq-mean-token-mean` |" in lines[1]
    assert not any(line.startswith("# MISMATCH") for line in lines)
    lines.clear()
    f.print_dry_run_table("toy", f.composed_config("disco"), preset, out=lines.append)
    assert lines == ["# official vs ours: plugin 'toy' has no official table"]
