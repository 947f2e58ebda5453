"""The LASER reproduction's claims and arms (issue 10): LASER-DE is trained as an arm, difficulty
awareness is LASER-D against LASER (not against GRPO), and accuracy changes carry prompt items."""

from pathlib import Path

import yaml
from omegaconf import OmegaConf
from r1repro_laser.reproduction import LaserReproduction, diff_items

from r1repro.registry import load_plugins
from r1repro.repro.claims import load_claims
from r1repro.repro.run import ReproRun

ROOT = Path(__file__).resolve().parents[3] / "reproductions" / "laser"


def test_laser_de_is_an_arm_and_difficulty_is_judged_against_laser():
    arms = yaml.safe_load((ROOT / "config.yaml").read_text())["arms"]
    assert arms["laser_de"]["reward"]["name"] == "laser.de"
    assert {k: v for k, v in arms["laser_de"]["reward"].items() if k != "name"} == {
        k: v for k, v in arms["laser_d"]["reward"].items() if k != "name"}
    _, claims = load_claims(ROOT / "claims.yaml")
    by_id = {c.id: c for c in claims}
    aware = by_id["laser_d_difficulty_aware"]
    assert (aware.kind, aware.treatment, aware.baseline) == ("compare", "laser_d", "laser")
    assert {"laser_de_shorter", "laser_de_accuracy"} <= set(by_id)
    assert all(c.source for c in claims)


def test_accuracy_change_items_are_prompt_wise_differences(tmp_path):
    run = ReproRun(name="laser", scale="cpu", cfg=OmegaConf.create({"seeds": [0]}), out_dir=tmp_path,
                   reproduction=LaserReproduction(), registry=load_plugins(), quiet=True)  # fmt: skip
    run.record("correct@all", "grpo", 0, 0.5, items={"a": 0.5, "b": 0.5})
    run.record("correct@all", "laser_d", 0, 0.625, items={"a": 1.0, "b": 0.25})
    assert diff_items(run, "correct@all", "laser_d", "grpo", 0) == {"a": 0.5, "b": -0.25}
    run.record("correct@all", "laser", 0, 0.5, items={"a": 0.5})
    assert diff_items(run, "correct@all", "laser", "grpo", 0) is None  # not the same prompts
