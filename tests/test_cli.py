"""The command line: list, score, help, new-plugin."""

import json
import subprocess
import sys

from r1repro.cli import main


def test_help_explains_commands(capsys):
    try:
        main(["--help"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out
    for word in ("reproduce", "score", "new-plugin", "list", "scale=paper", "examples"):
        assert word in out


def test_list_shows_every_hook_kind(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
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
        assert f"\n{kind} (" in out
    assert "toy.shortest_correct" in out
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "toy" in {p["name"] for p in data["plugins"]}


def test_score_jsonl_one_line_out_per_line_in(tmp_path):
    inp = tmp_path / "in.jsonl"
    lines = [
        {"response": "<answer>5</answer>", "ground_truth": "5", "group_id": "g", "response_length": 30},
        "not json",
        {"response": "<answer>5</answer>", "ground_truth": "5", "group_id": "g", "response_length": 3},
        {"response": "<answer>4</answer>", "ground_truth": "5", "group_id": "h", "my_field": 1},
        {"no_response": 1},
    ]
    inp.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    out = tmp_path / "out.jsonl"
    # two lines failed (not JSON, no response): exit 1, every line still written
    assert main(["score", "--reward", "toy.shortest_correct", "--input", str(inp), "--output", str(out)]) == 1
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 5
    assert [r.get("score") for r in rows] == [1.0, None, 1.5, 0.0, None]  # group-aware: shortest correct +0.5
    assert "error" in rows[1] and "error" in rows[4]
    assert rows[3]["my_field"] == 1  # input fields are kept
    spec = json.dumps({"name": "core.weighted_sum", "terms": [{"reward": "core.exact_match", "weight": 2.0}]})
    proc = subprocess.run(
        [sys.executable, "-m", "r1repro.cli", "score", "--reward", spec, "--input", "-"],
        input=json.dumps({"response": "\\boxed{5}", "ground_truth": "5"}),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(proc.stdout)["score"] == 2.0


def test_unknown_reward_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "x.jsonl").write_text("{}\n")
    assert main(["score", "--reward", "core.exact_mach", "--input", str(tmp_path / "x.jsonl")]) == 2
    assert "Did you mean: core.exact_match" in capsys.readouterr().err


def test_new_plugin_scaffold_registers_and_its_test_passes(tmp_path, monkeypatch):
    from r1repro.scaffold import create_plugin

    (tmp_path / "reproductions").mkdir()
    (tmp_path / "plugins").mkdir()
    root = create_plugin("mypaper", tmp_path / "plugins", title="My Paper")
    for rel in (
        "pyproject.toml",
        "README.md",
        "r1repro_mypaper/plugin.py",
        "r1repro_mypaper/reward.py",
        "r1repro_mypaper/templates.py",
        "r1repro_mypaper/data.py",
        "tests/test_mypaper.py",
    ):
        assert (root / rel).exists(), rel
    assert (tmp_path / "reproductions" / "mypaper" / "claims.yaml").exists()
    assert 'mypaper = "r1repro_mypaper.plugin"' in (root / "pyproject.toml").read_text()
    env = {
        "PYTHONPATH": str(root),
        "R1REPRO_PLUGINS": "r1repro_mypaper.plugin:mypaper",
        "R1REPRO_NO_PROGRESS": "1",
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        env=env,
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    import pytest

    with pytest.raises(ValueError):
        create_plugin("Bad-Name", tmp_path / "plugins")


def test_reward_specs_read_as_json_or_yaml_flow_style():
    import pytest

    from r1repro.cli import _parse_spec

    assert _parse_spec("core.exact_match") == "core.exact_match"
    want = {"name": "core.weighted_sum", "parts": {"a": 1}}
    assert _parse_spec('{"name": "core.weighted_sum", "parts": {"a": 1}}') == want
    assert _parse_spec("{name: core.weighted_sum, parts: {a: 1}}") == want
    with pytest.raises(SystemExit, match="needs a 'name'"):
        _parse_spec("{judge: {backend: stub}}")
    with pytest.raises(SystemExit, match="cannot read"):
        _parse_spec("{name: [unclosed")


def test_score_output_is_strict_json():
    from r1repro.cli import _strict_json

    rec = {"score": 1.0, "info": {"verdict": float("nan"), "xs": [float("inf"), 2]}}
    assert (
        json.dumps(_strict_json(rec), allow_nan=False)
        == '{"score": 1.0, "info": {"verdict": null, "xs": [null, 2]}}'
    )
