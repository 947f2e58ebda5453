"""Plugin discovery and the registry: lookups, errors that name the plugin, isolation."""

import sys
import types

import pytest

from r1repro import hookimpl, lazy
from r1repro.registry import (
    ComponentLoadError,
    DuplicateComponentError,
    Registry,
    RegistryError,
    UnknownComponentError,
    split_spec,
)

_R = "r1repro.testing:ConstantReward"


def _plugin(name, **hooks):
    mod = types.ModuleType(name)
    for hook, items in hooks.items():

        def impl(items=items):
            return items

        impl.__name__ = hook
        setattr(mod, hook, hookimpl(impl))
    return mod


def test_installed_plugins_are_discovered(registry):
    assert {"core", "toy"} <= set(registry.plugins)
    assert "toy.shortest_correct" in registry.names("reward")
    assert "core.single_turn" in registry.names("rollout")
    for kind in (
        "reward",
        "template",
        "dataset",
        "estimator",
        "policy_loss",
        "environment",
        "rollout",
        "reproduction",
    ):
        assert registry.names(kind), f"the toy plugin registers one {kind}"
    assert registry.errors == [], [str(e) for e in registry.errors]


def test_unknown_name_suggests_close_matches(registry):
    with pytest.raises(UnknownComponentError, match="Did you mean: core.exact_match"):
        registry.entry("reward", "core.exact_mach")


def test_unknown_kind_is_a_clear_error(registry):
    with pytest.raises(RegistryError, match="kinds are"):
        registry.names("rewards")


def test_duplicate_names_name_both_plugins_and_others_keep_working():
    reg = Registry()
    reg.add_plugin(_plugin("a", r1repro_rewards=[object()]), "a")  # _R has no name -> reported, skipped
    a = _plugin("pa", r1repro_rewards=[lazy(_R, "shared.reward"), lazy(_R, "pa.only")])
    b = _plugin("pb", r1repro_rewards=[lazy(_R, "shared.reward")])
    reg.add_plugin(a, "pa")
    reg.add_plugin(b, "pb")
    with pytest.raises(DuplicateComponentError, match="'pa' and 'pb'"):
        reg.entry("reward", "shared.reward")
    assert reg.build("reward", "pa.only").score_one(None) == 1.0
    assert any("without a name" in str(e) for e in reg.errors)
    assert any("registered by both plugin 'pa' and plugin 'pb'" in str(e) for e in reg.errors)


def test_broken_plugin_is_named_and_the_others_work(monkeypatch):
    broken = types.ModuleType("r1repro_broken_test")

    def r1repro_rewards():
        raise RuntimeError("boom in hook")

    broken.r1repro_rewards = hookimpl(r1repro_rewards)
    sys.modules["r1repro_broken_test"] = broken
    monkeypatch.setitem(sys.modules, "r1repro_broken_test", broken)
    monkeypatch.setenv("R1REPRO_PLUGINS", "r1repro_broken_test,r1repro_does_not_exist")
    reg = Registry().discover()
    msgs = [str(e) for e in reg.errors]
    assert any("r1repro_broken_test" in m and "boom in hook" in m for m in msgs), msgs
    assert any("r1repro_does_not_exist" in m and "ModuleNotFoundError" in m for m in msgs), msgs
    assert "toy.shortest_correct" in reg.names("reward")  # installed plugins unaffected


def test_unknown_name_of_a_broken_plugin_says_why():
    reg = Registry()
    bad = types.ModuleType("badplug")

    def r1repro_rewards():
        raise ImportError("needs a missing package")

    bad.r1repro_rewards = hookimpl(r1repro_rewards)
    reg.add_plugin(bad, "badplug")
    with pytest.raises(UnknownComponentError, match="Plugin 'badplug' failed to load: ImportError"):
        reg.entry("reward", "badplug.reward")


def test_invalid_hook_name_is_rejected_with_the_plugin_named():
    reg = Registry()
    mod = types.ModuleType("typo")

    def r1repro_reward():  # typo: not a hook
        return []

    mod.r1repro_reward = hookimpl(r1repro_reward)
    assert reg.add_plugin(mod, "typo") is False
    assert reg.errors and reg.errors[0].plugin == "typo"


def test_lazy_reference_that_fails_to_import_names_plugin_and_target():
    reg = Registry()
    reg.add_plugin(_plugin("lz", r1repro_rewards=[lazy("no_such_module.sub:X", "lz.x")]), "lz")
    with pytest.raises(ComponentLoadError, match=r"reward 'lz.x' from plugin 'lz'.*no_such_module"):
        reg.build("reward", "lz.x")


def test_build_merges_defaults_spec_options_and_overrides():
    reg = Registry()
    reg.add_plugin(_plugin("o", r1repro_rewards=[lazy(_R, "o.r", bonus=1.0)]), "o")
    assert reg.build("reward", "o.r").bonus == 1.0
    assert reg.build("reward", {"name": "o.r", "bonus": 2.0}).bonus == 2.0
    assert reg.build("reward", {"name": "o.r", "bonus": 2.0}, bonus=3.0).bonus == 3.0
    assert reg.build("reward", "o.r").name == "o.r"
    with pytest.raises(ComponentLoadError, match="could not build"):
        reg.build("reward", {"name": "o.r", "nope": 1})


def test_split_spec_accepts_names_mappings_and_omegaconf():
    from omegaconf import OmegaConf

    assert split_spec("a.b") == ("a.b", {})
    assert split_spec({"name": "a.b", "k": 1}) == ("a.b", {"k": 1})
    assert split_spec(OmegaConf.create({"name": "a.b", "k": [1]})) == ("a.b", {"k": [1]})
    with pytest.raises(RegistryError):
        split_spec({"k": 1})
    with pytest.raises(RegistryError):
        split_spec(3)


def test_discovery_imports_nothing_heavy():
    import subprocess

    code = (
        "import time,sys; t=time.time(); import r1repro; r=r1repro.load_plugins(); dt=time.time()-t; "
        "print(dt, len(r.names('reward')), 'torch' in sys.modules, 'verl' in sys.modules, 'sympy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    took, n, torch_loaded, verl_loaded, sympy_loaded = float(out[0]), int(out[1]), *out[2:]
    assert n >= 4
    assert (torch_loaded, verl_loaded, sympy_loaded) == ("False", "False", "False")
    assert took > 0  # its speed is measured in tests/benchmarks, not asserted here


def _fake_distribution(root, dist, entry_points, module_source=None):
    """A throwaway installed distribution (dist-info with entry points) under ``root``."""
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[r1repro]\n" + "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    )
    if module_source:
        for mod, src in module_source.items():
            (root / f"{mod}.py").write_text(src)


def test_a_second_distribution_claiming_an_installed_plugin_name_is_an_error(tmp_path, monkeypatch):
    """Issue 12 §3: a distribution whose entry point is named `tinyv` used to replace the real
    TinyV plugin silently (whichever came first on sys.path won)."""
    _fake_distribution(tmp_path, "evil-tinyv", {"tinyv": "evil_tinyv_mod"},
                       {"evil_tinyv_mod": "raise SystemExit('must never be imported')\n"})  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry().discover()
    errs = [e for e in reg.errors if e.plugin == "tinyv"]
    assert errs, [str(e) for e in reg.errors]
    assert "'evil-tinyv'" in errs[0].message and "'r1repro-tinyv'" in errs[0].message
    assert "tinyv" not in reg.plugins
    assert "toy.shortest_correct" in reg.names("reward")  # the other plugins are unaffected
    with pytest.raises(UnknownComponentError, match="Plugin 'tinyv' failed to load: plugin name 'tinyv'"):
        reg.entry("reward", "tinyv.addon")


def test_a_duplicate_component_is_reported_against_each_later_plugin():
    reg = Registry()
    for p in ("first", "second", "third"):
        reg.add_plugin(_plugin(p, r1repro_rewards=[lazy(_R, "shared.r")]), p)
    dup = [e for e in reg.errors if "shared.r" in e.message]
    assert [e.plugin for e in dup] == ["second", "third"]
    assert "plugin 'first' and plugin 'second'" in dup[0].message


def test_a_reward_option_rejected_with_value_error_is_a_load_error():
    reg = Registry()
    reg.add_plugin(_plugin("v", r1repro_rewards=[lazy("r1repro_tinyv.reward:TinyVReward", "v.tv")]), "v")
    with pytest.raises(ComponentLoadError, match="ValueError: mode must be one of"):
        reg.build("reward", {"name": "v.tv", "mode": "nope"})
