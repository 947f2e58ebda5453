"""The data-statistics command line on a distilled JSONL file (any teacher's, chat or flat layout)."""

from __future__ import annotations

import json

from r1repro_distill_source.cli import main


def _write(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")


def test_stats_cli_summarises_each_file_and_names_unreadable_lines(tmp_path, capsys):
    good = "<think>add 2 and 3</think> <answer>5</answer>"
    flat = tmp_path / "teacherA.jsonl"
    _write(flat, [{"query": "2+3?", "response": good, "category": "math", "verify_score": 1.0},
                  {"query": "hi", "response": "no tags here", "category": "chat", "verify_score": 0.2},
                  {"nothing": 1}])  # fmt: skip
    chat = tmp_path / "teacherB.jsonl"
    _write(chat, [{"messages": [{"role": "user", "content": "2+3?"},
                                {"role": "assistant", "content": good + " " + "word " * 5}]}])  # fmt: skip

    assert main([str(flat), str(chat), "--json", "--filter", "--ref-model", "tiny:nano"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["rows"] == 3
    assert "line 3" in err and "skipped" in err  # the bad record is named, not silently dropped
    lengths = result["lengths (whitespace tokens)"]
    assert set(lengths) == {"teacherA/math", "teacherA/chat", "teacherB/general"}
    assert lengths["teacherA/math"]["n"] == 1 and lengths["teacherA/math"]["mean"] == 5
    assert abs(result["think_answer_rate"] - 1 / 3) < 1e-9  # text after </answer> breaks the structure
    assert set(result["perplexity"]) == {"teacherA", "teacherB"}
    assert result["perplexity"]["teacherA"]["mean"] > 1.0
    # verify_score >= 0.9 and the think/answer structure: only teacherA's first row survives
    assert result["filters"]["kept"] == 1


def test_stats_cli_errors_are_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "missing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    f = tmp_path / "t.jsonl"
    _write(f, [{"query": "q", "response": "r"}])
    assert main([str(f), "--ref-model", str(tmp_path / "no-model")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot load --ref-model" in err
    assert main([str(f)]) == 0
    assert "1 rows" in capsys.readouterr().out
