"""``r1repro-distill-stats``: the paper's data statistics on any distilled JSONL file.

Each line is one record in a hub layout the loaders read (chat ``messages`` or flat
``query``/``response``; optional ``category``, ``teacher``, ``verify_score``). Prints, per
group, the length statistics and histogram, the think/answer structure rate, the 20-gram
redundancy, optionally the perplexity under a reference LM (``--ref-model``: a hub id, a local
folder or ``tiny:<size>``), and what the paper's filters would keep (``--filter``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from r1repro_distill_source import stats
from r1repro_distill_source.data import to_distill_row


def read_rows(path: Path, teacher: str | None = None) -> tuple[list[stats.DistillRow], list[str]]:
    """Rows of a JSONL file and a message per line that could not be read (never silently dropped)."""
    rows, problems = [], []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                row = to_distill_row(record, teacher or str(record.get("teacher") or path.stem))
            except (ValueError, AttributeError, TypeError) as exc:
                problems.append(f"line {i}: {exc}")
                continue
            rows.append(row)
    return rows, problems


def summary(rows: list[stats.DistillRow], by: str, ppl: list[float] | None = None,
            filters: stats.FilterConfig | None = None) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {
        "rows": len(rows),
        "lengths (whitespace tokens)": stats.length_report(rows, by=by),
        "category_mix": stats.category_mix(rows),
        "think_answer_rate": stats.structure_rate(rows),
        f"{stats.NGRAM_N}-gram_redundancy": stats.ngram_redundancy(rows)["share"],
    }
    if ppl is not None:
        groups: dict[str, list[float]] = {}
        for r, p in zip(rows, ppl):
            groups.setdefault(r.teacher, []).append(p)
        out["perplexity"] = {t: stats.length_stats(v) for t, v in groups.items()}
    if filters is not None:
        kept, removed = stats.filter_rows(rows, filters, ppl=ppl)
        out["filters"] = {"kept": len(kept), "removed": dict(removed)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="r1repro-distill-stats",
        description="Data statistics of arXiv 2505.14464 on distilled JSONL files (one file per teacher).",
    )
    ap.add_argument("files", nargs="+", type=Path, help="JSONL files; the teacher is the file's stem "
                    "unless a record names it")  # fmt: skip
    ap.add_argument("--by", default="teacher/category", choices=["category", "teacher", "teacher/category"])
    ap.add_argument("--ref-model", help="reference LM for perplexity (hub id, folder or tiny:<size>)")
    ap.add_argument("--limit", type=int, default=None, help="first N rows per file")
    ap.add_argument("--filter", action="store_true", help="apply the paper's filters (verify score >= "
                    f"{stats.VERIFY_THRESHOLD}, frequent {stats.NGRAM_N}-grams, think/answer structure)")  # fmt: skip
    ap.add_argument("--json", action="store_true", help="print JSON instead of a readable summary")
    args = ap.parse_args(argv)

    rows: list[stats.DistillRow] = []
    for f in args.files:
        if not f.is_file():
            print(f"r1repro-distill-stats: no such file: {f}", file=sys.stderr)
            return 2
        got, problems = read_rows(f)
        for p in problems:
            print(f"r1repro-distill-stats: {f}: {p} (skipped)", file=sys.stderr)
        rows.extend(got[: args.limit] if args.limit else got)
    if not rows:
        print("r1repro-distill-stats: no readable rows", file=sys.stderr)
        return 2
    ppl = None
    if args.ref_model:
        from r1repro.models.tiny import load_policy

        try:
            model, tok = load_policy(args.ref_model)
        except Exception as exc:  # noqa: BLE001 - one line for the user, not a traceback
            print(f"r1repro-distill-stats: cannot load --ref-model {args.ref_model}: {exc}", file=sys.stderr)
            return 2
        ppl = stats.perplexity(model, tok, rows)
    result = summary(rows, args.by, ppl, stats.FilterConfig() if args.filter else None)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    print(f"{result['rows']} rows; think/answer structure {result['think_answer_rate']:.1%}; "
          f"{stats.NGRAM_N}-gram redundancy {result[f'{stats.NGRAM_N}-gram_redundancy']:.1%}")  # fmt: skip
    print("category mix: " + ", ".join(f"{k} {v:.1%}" for k, v in result["category_mix"].items()))
    print(f"{'group':<32} {'n':>6} {'mean':>9} {'std':>9} {'cv':>6}  histogram (edges {list(stats.PAPER_LENGTH_EDGES)})")
    for group, st in result["lengths (whitespace tokens)"].items():
        print(f"{group:<32} {st['n']:>6} {st['mean']:>9.1f} {st['std']:>9.1f} {st['cv']:>6.2f}  {st['histogram']}")
    for teacher, st in (result.get("perplexity") or {}).items():
        print(f"perplexity {teacher}: mean {st['mean']:.3f} (std {st['std']:.3f}, n {st['n']})")
    if "filters" in result:
        print(f"filters: kept {result['filters']['kept']}, removed {result['filters']['removed']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
