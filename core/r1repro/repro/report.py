"""``report.md`` and PNG training curves for a reproduction run."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r1repro.repro import stats

VERDICT_MARK = {
    stats.HELD: "✅ held",
    stats.NOT_HELD: "❌ did not hold",
    stats.INCONCLUSIVE: "➖ inconclusive",
    stats.MATCHES: "✅ matches",
    stats.DIFFERS: "❌ differs",
    stats.REPORTED: "reported",
}


def plot_curves(histories: dict[str, dict[int, list[dict[str, float]]]], metric: str, path: Path,
                title: str = "", ylabel: str = "") -> bool:  # fmt: skip
    """Mean ± std over seeds of ``metric`` against step, one line per arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    drawn = False
    for arm, by_seed in histories.items():
        series = []
        for hist in by_seed.values():
            pts = {int(h["step"]): h[metric] for h in hist if metric in h and math.isfinite(h[metric])}
            if pts:
                series.append(pts)
        if not series:
            continue
        steps = sorted(set().union(*series))
        vals = np.array([[s.get(t, np.nan) for t in steps] for s in series], dtype=float)
        mean = np.nanmean(vals, axis=0)
        ax.plot(steps, mean, marker="o" if len(steps) < 30 else None, ms=3, label=f"{arm} (n={len(series)})")
        if len(series) > 1:
            sd = np.nanstd(vals, axis=0)
            ax.fill_between(steps, mean - sd, mean + sd, alpha=0.2)
        drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel or metric)
    ax.set_title(title or metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return True


def _cell(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(run, judgements, wall_time_s: float) -> Path:
    from r1repro.repro.run import as_container, environment_facts

    repro, meta = run.reproduction, run.meta
    title = meta.get("title") or getattr(repro, "title", "") or run.name
    env = environment_facts()
    lines = [f"# Reproduction: {title}", ""]
    paper = meta.get("paper") or getattr(repro, "arxiv", "")
    if paper:
        lines.append(f"Paper: {paper}")
    lines += [
        "",
        f"- run: `{run.out_dir.name}` — scale **{run.scale}**, seeds {run.seeds}, arms {run.arms or '—'}",
        f"- wall time: {wall_time_s / 60:.1f} min on {env.get('cpus')} CPU cores"
        + (" + CUDA" if env.get("cuda") else "")
        + f"; r1repro {env.get('r1repro', '?')}, verl {env.get('verl', '?')}, torch {env.get('torch', '?')}"
        + (f", commit {env['git_commit']}" if env.get("git_commit") else ""),
        f"- date: {time.strftime('%Y-%m-%d %H:%M')}",
        "",
    ]
    if meta.get("scale_note"):
        lines += [f"> {meta['scale_note']}", ""]
    lines += ["## Claims", ""]
    if judgements:
        rows = []
        for i, j in enumerate(judgements, 1):
            c = j.claim
            claim_txt = c.claim + (f" ({c.source})" if c.source else "")
            rows.append([i, claim_txt, c.paper or "—", j.measured, VERDICT_MARK.get(j.verdict, j.verdict)])
        lines.append(
            md_table(["#", "claim (source)", "paper", f"measured ({run.scale} scale)", "verdict"], rows)
        )
        lines += [
            "",
            "Verdicts: *held* = the 90% Welch-t interval of the effect lies on the claimed side; *did not hold* = "
            "the measured effect points the other way; *inconclusive* = right direction, but the seeds do not "
            "separate the arms. A tiny-scale run tests the mechanism and direction of an effect, not the paper's "
            "magnitudes.",
            "",
        ]
        notes = [f"- **{j.claim.id}**: {j.claim.note}" for j in judgements if j.claim.note]
        if notes:
            lines += ["Claim notes:", "", *notes, ""]
    else:
        lines += ["(no claims.yaml)", ""]
    for t in run.tables:
        lines += [f"## {t.title}", "", md_table(t.headers, t.rows), ""]
        if t.note:
            lines += [t.note, ""]
    if run.plots:
        lines += ["## Training curves", ""]
        for title_, fname in run.plots:
            lines += [f"![{title_}]({fname})", ""]
    if run.measurements:
        lines += ["## All measurements (mean ± std over seeds)", ""]
        rows = []
        for metric in sorted(run.measurements):
            for arm, by_seed in sorted(run.measurements[metric].items()):
                vals = [by_seed[s] for s in sorted(by_seed)]
                rows.append([metric, arm, f"{stats.mean(vals):.4g}", f"{stats.std(vals):.3g}", len(vals),
                             ", ".join(f"{v:.3g}" for v in vals)])  # fmt: skip
        lines += [md_table(["measurement", "arm", "mean", "std", "n", "per seed"], rows), ""]
    lines += ["## Setup", ""]
    if run.arms:
        arm_rows = []
        for a in run.arms:
            over = as_container((run.cfg.get("arms") or {}).get(a))
            arm_rows.append([a, _flat(over)])
        lines += [md_table(["arm", "overrides of the base engine config"], arm_rows), ""]
    notes = list(meta.get("notes", []) or []) + list(repro.report_notes(run)) + run.notes
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    lines += ["Resolved configuration: `config.yaml`; raw numbers: `results.json`; per-run metrics: "
              "`arms/<arm>/seed<k>/metrics.jsonl`.", ""]  # fmt: skip
    path = run.out_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


def _flat(d: Any, prefix: str = "") -> str:
    if not isinstance(d, dict):
        return f"{prefix}={d}" if prefix else str(d)
    parts = []
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        parts.append(_flat(v, key) if isinstance(v, dict) and v else f"{key}={v}")
    return ", ".join(parts) if parts else "(base config)"
