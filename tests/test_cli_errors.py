"""Issue 12 §3: `r1repro score` and `r1repro reproduce` on bad input. Every case is one line on
stderr and a non-zero exit, never a traceback; nothing is scored or written before the
arguments are known to be good."""

import json
import subprocess
import sys

import pytest

from r1repro.cli import main


def _write(path, lines):
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def _one_line_error(capsys, *words):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    for w in words:
        assert w in err[0], err
    return err[0]


def test_score_keeps_every_line_its_number_and_its_fields(tmp_path, capsys):
    inp = _write(tmp_path / "in.jsonl", [
        {"response": "\\boxed{5}", "ground_truth": "5", "extra": {"k": [1, 2]}, "mine": "x"},
        "",
        {"response": "\\boxed{5}", "ground_truth": "5", "group_id": ["a", "list"]},
        {"response": 7, "ground_truth": "5"},
        {"response": "\\boxed{4}", "ground_truth": "5", "group_id": "g"},
    ])  # fmt: skip
    out = tmp_path / "out.jsonl"
    assert main(["score", "--reward", "core.exact_match", "--input", str(inp), "--output", str(out),
                 "--batch-size", "1"]) == 1  # fmt: skip
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 5  # one per input line, the blank one included
    assert rows[0]["score"] == 1.0 and rows[4]["score"] == 0.0
    assert {k: rows[0][k] for k in ("response", "ground_truth", "extra", "mine")} == json.loads(
        inp.read_text().splitlines()[0]
    )
    assert rows[1]["error"].startswith("line 2: blank line")
    assert rows[2]["error"].startswith("line 3:") and "'group_id' must be a string" in rows[2]["error"]
    assert rows[3]["error"].startswith("line 4:") and "'response' must be a string" in rows[3]["error"]
    assert "3 of 5 lines failed" in capsys.readouterr().err


def test_score_exit_is_non_zero_when_a_reward_fails_on_a_line(tmp_path, capsys):
    inp = _write(tmp_path / "in.jsonl", [{"response": "\\boxed{7}", "ground_truth": "7", "problem": "3+4?"}])
    judge = {
        "backend": "openai",
        "model": "m",
        "base_url": "http://127.0.0.1:9/v1",
        "max_retries": 0,
    }  # nobody there
    spec = json.dumps({"name": "tinyv.tinyv_only", "retries": 0, "judge": judge})
    assert main(["score", "--reward", spec, "--input", str(inp)]) == 1
    captured = capsys.readouterr()
    assert "judge request failed" in json.loads(captured.out)["info"]["error"]
    assert "1 of 1 lines failed" in captured.err


@pytest.mark.parametrize("bad", ["0", "-3", "many"])
def test_score_batch_size_is_validated(tmp_path, capsys, bad):
    inp = _write(tmp_path / "in.jsonl", [{"response": "x"}])
    with pytest.raises(SystemExit) as e:
        main(["score", "--reward", "core.exact_match", "--input", str(inp), "--batch-size", bad])
    assert e.value.code == 2
    assert "--batch-size" in capsys.readouterr().err


def test_score_output_and_input_paths_are_checked_before_scoring(tmp_path, capsys, monkeypatch):
    import r1repro.registry as registry

    inp = _write(tmp_path / "in.jsonl", [{"response": "x"}])
    built = []
    real_build = registry.build
    monkeypatch.setattr(registry, "build", lambda *a, **k: built.append(a) or real_build(*a, **k))
    assert (
        main(["score", "--reward", "core.exact_match", "--input", str(inp), "--output", str(tmp_path)]) == 2
    )
    _one_line_error(capsys, "is a folder")
    assert main(["score", "--reward", "core.exact_match", "--input", str(inp),
                 "--output", str(tmp_path / "no" / "such" / "out.jsonl")]) == 2  # fmt: skip
    _one_line_error(capsys, "does not exist")
    assert main(["score", "--reward", "core.exact_match", "--input", str(tmp_path)]) == 2
    _one_line_error(capsys, "is a folder")
    assert main(["score", "--reward", "core.exact_match", "--input", str(tmp_path / "missing.jsonl")]) == 2
    _one_line_error(capsys, "missing.jsonl")
    assert built == []  # nothing was built or scored


def test_a_reward_option_rejected_with_value_error_is_one_line(tmp_path, capsys):
    inp = _write(tmp_path / "in.jsonl", [{"response": "x"}])
    assert main(["score", "--reward", '{"name": "tinyv.addon", "mode": "nope"}', "--input", str(inp)]) == 2
    _one_line_error(capsys, "mode must be one of")
    assert main(["score", "--reward", '{"name": "tinyv.addon", "judge": {"backend": "nope"}}',
                 "--input", str(inp)]) == 2  # fmt: skip
    _one_line_error(capsys, "unknown judge backend")


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("engine.trainer.total_steps=abc", ["arm", "total_steps"]),
        ("engine.trainer.no_such_key=1", ["no_such_key"]),
        ("seeds=[0", ["bad override"]),
        ("engine.trainer.total_steps==", ["bad override"]),
        ("seedz=[0]", ["unknown key 'seedz'", "+seedz=[0]"]),
    ],
)
def test_bad_reproduce_overrides_are_one_line_and_create_nothing(
    tmp_path, capsys, monkeypatch, override, words
):
    """Overrides after an option (as `make reproduce ... ARGS=...` passes them) are parsed, and
    checked before anything (runs/<paper>/) is created."""
    monkeypatch.setenv("R1REPRO_RUNS", str(tmp_path / "runs"))
    assert main(["reproduce", "toy", "--scale", "cpu", "--quiet", "seeds=[0]", override]) == 2
    _one_line_error(capsys, *words)
    assert not (tmp_path / "runs").exists()


def test_a_cpu_dry_run_prints_the_plan_and_trains_nothing(tmp_path, capsys, monkeypatch):
    """--dry-run at CPU scale composes and checks the config, says what would run, and stops:
    no run folder, no training (it used to run the whole reproduction)."""
    monkeypatch.setenv("R1REPRO_RUNS", str(tmp_path / "runs"))
    assert main(["reproduce", "toy", "--scale", "cpu", "--dry-run", "seeds=[0, 1]"]) == 0
    out = capsys.readouterr().out
    assert "dry run: toy at scale=cpu" in out and "x seeds [0, 1]" in out and "nothing was run" in out
    assert "report:" not in out
    assert not (tmp_path / "runs").exists()


def test_reproduce_accepts_overrides_after_options(monkeypatch):
    import r1repro.repro.run as run

    seen = {}

    def fake(name, **kw):
        seen.update(kw, name=name)
        return {"report": "r.md", "verdicts": {}}

    monkeypatch.setattr(run, "run_reproduction", fake)
    assert main(["reproduce", "toy", "--scale", "cpu", "seeds=[0]", "engine.trainer.total_steps=2"]) == 0
    assert seen["name"] == "toy" and seen["overrides"] == ["seeds=[0]", "engine.trainer.total_steps=2"]


def test_a_reproduction_with_missing_data_fails_before_training(tmp_path, capsys, monkeypatch):
    import r1repro.components as components

    monkeypatch.setattr(components, "data_dirs", lambda: [tmp_path / "data"])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("R1REPRO_RUNS", str(tmp_path / "runs"))
    rc = main(["reproduce", "toy", "--quiet", "seeds=[0]", "engine.data.dataset=hgpo.deepscaler"])
    assert rc == 2
    line = _one_line_error(capsys, "missing", "hgpo.deepscaler", "deepscaler.jsonl", str(tmp_path / "data"))
    assert "done" not in line
    assert not (tmp_path / "runs").exists()


def test_make_reproduce_passes_args_after_the_options():
    """The README's own example: `make reproduce PAPER=laser ARGS="seeds=[0] ..."` (dry: make -n)."""
    out = subprocess.run(["make", "-n", "-o", ".venv/.r1repro-installed", "reproduce", "PAPER=laser",
                          "ARGS=seeds=[0] engine.trainer.total_steps=20"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    line = [ln for ln in out.splitlines() if "r1repro reproduce" in ln][0]
    argv = line.split("r1repro", 1)[1].split()
    from r1repro.cli import _parser

    args, extra = _parser().parse_known_args(argv)
    assert args.paper == "laser" and [*args.overrides, *extra] == [
        "seeds=[0]",
        "engine.trainer.total_steps=20",
    ]
    assert sys.executable  # the same parsing `main` does (see test_reproduce_accepts_overrides_after_options)


@pytest.mark.parametrize("override", ["trainer.total_steps=abc", "trainer.no_such_key=1", "noequals"])
def test_bad_train_overrides_are_one_line(capsys, override):
    assert main(["train", override]) == 2
    _one_line_error(capsys, "bad config or override")
