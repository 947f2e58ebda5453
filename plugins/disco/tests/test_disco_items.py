"""The DISCO reproduction's pooled measurements carry prompt items (issue 10): minority and macro
accuracy pool the domains' prompts, gains are prompt-wise, and each has a stated protocol."""

from omegaconf import OmegaConf
from r1repro_disco.reproduction import DiscoReproduction, pooled_items

from r1repro.registry import load_plugins
from r1repro.repro.run import ReproRun


def _run(tmp_path):
    cfg = {"seeds": [0], "arms": {"grpo": {}},
           "engine": {"model": {"path": "tiny:nano", "sft": {"enabled": False}},
                      "data": {"dataset": {"name": "disco.domain_facts"}, "template": "disco.template"},
                      "eval": {"limit": 6, "temperature": 1.0}}}  # fmt: skip
    return ReproRun(name="disco", scale="cpu", cfg=OmegaConf.create(cfg), out_dir=tmp_path,
                    reproduction=DiscoReproduction(), registry=load_plugins(), quiet=True)  # fmt: skip


def test_minority_and_macro_items_pool_the_domains_prompts(tmp_path):
    run = _run(tmp_path)
    for when, vals in (("initial", (1.0, 0.0, 0.0)), ("final", (1.0, 1.0, 0.0))):
        for d, v in zip(("arc", "math", "imdb"), vals):
            run.record(f"{when}_correct@{d}", "grpo", 0, v, items={"p1": v, "p2": v})
            run.record(f"mean_correct@{d}", "grpo", 0, v)
    assert pooled_items(run, "final", ["math", "imdb"], "grpo", 0) == {
        "math/p1": 1.0, "math/p2": 1.0, "imdb/p1": 0.0, "imdb/p2": 0.0}
    assert pooled_items(run, "mean", ["math"], "grpo", 0) is None  # no items: no pooled items
    run.histories = {}
    run.train_arms = lambda *a, **k: None  # measurements are already in place
    run.plot = lambda *a, **k: None
    DiscoReproduction().run(run)
    assert run.measurements["final_minority_correct"]["grpo"][0] == 0.5
    assert len(run.items_of("final_macro_correct", "grpo", 0)) == 6
    gain = run.items_of("minority_gain", "grpo", 0)
    assert sum(gain.values()) / len(gain) == run.measurements["minority_gain"]["grpo"][0] == 0.5
    assert run.items_of("majority_gain", "grpo", 0) == {"p1": 0.0, "p2": 0.0}
    assert "minority domains" in run.protocols["final_minority_correct"]
    assert run.protocols["final_macro_correct"].startswith("disco.domain_facts / test")
