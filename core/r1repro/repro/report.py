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


def timing_line(timing: dict[str, float], wall_time_s: float) -> str:
    """One report line on where the run's time went (`r1repro.repro.run.PHASES`)."""
    from r1repro.repro.run import timing_summary

    t = timing_summary(timing or {}, wall_time_s)
    worker = t["rl_s"] + t["eval_s"]
    shares = (f" (worker time {t['rl_s'] / 60:.1f} min RL steps, of which judges {t['judge_s'] / 60:.1f}, "
              f"{t['eval_s'] / 60:.1f} min evaluation: {t['eval_s'] / worker:.0%} evaluation)") if worker else ""  # fmt: skip
    return (
        f"- where the time went (wall): SFT warm starts {t['sft_s'] / 60:.1f} min, arms × seeds "
        f"{t['arms_s'] / 60:.1f} min{shares}, "
        + (f"per-seed preparation {t['prep_s'] / 60:.1f} min, " if t["prep_s"] else "")
        + f"the rest {t['other_s'] / 60:.1f} min"
    )


def write_report(run, judgements, wall_time_s: float) -> Path:
    from r1repro.repro.run import as_container, environment_facts

    repro, meta = run.reproduction, run.meta
    title = meta.get("title") or getattr(repro, "title", "") or run.name
    env = getattr(run, "environment", None) or environment_facts()
    lines = [f"# Reproduction: {title}", ""]
    paper = meta.get("paper") or getattr(repro, "arxiv", "")
    if paper:
        lines.append(f"Paper: {paper}")
    lines += [
        "",
        f"- run: `{run.out_dir.name}` — scale **{run.scale}**, profile **{run.profile}**, seeds {run.seeds} "
        f"(each seed: its own model init, SFT warm start and data order), arms {run.arms or '—'}",
        f"- wall time: {wall_time_s / 60:.1f} min on {env.get('cpus')} CPU cores"
        + (" + CUDA" if env.get("cuda") else "")
        + f"; r1repro {env.get('r1repro', '?')}, verl {env.get('verl', '?')}, torch {env.get('torch', '?')}"
        + (f", commit {env['git_commit']}" if env.get("git_commit") else "")
        + (" (with uncommitted changes)" if env.get("git_dirty") else ""),
        timing_line(getattr(run, "timing", {}), wall_time_s),
        f"- date: {time.strftime('%Y-%m-%d %H:%M')}",
        f"- pre-registration: sha256 of claims.yaml `{(run.hashes.get('claims_sha256') or '—')[:16]}`, "
        f"of the composed config `{(run.hashes.get('config_sha256') or '—')[:16]}`",
        "",
    ]
    if meta.get("scale_note"):
        lines += [f"> {meta['scale_note']}", ""]
    lines += ["## Claims", ""]
    if judgements:
        lines += claims_section(judgements, run.scale)
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
    if run.measurements or run.once:
        lines += measurements_section(run)
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


VERDICT_LEGEND = (
    "Verdicts (symmetric, from the 90% interval of the effect): *held* = the whole interval lies beyond the "
    "margin on the claimed side; *did not hold* = the whole interval lies on the other side of the margin (for a "
    '"no worse than" claim: beyond the allowed loss); *inconclusive* = the interval contains the margin, or the '
    "measurement has no error estimate. Intervals are paired over seeds when the arms share seeds (seed s of "
    "every arm starts from seed s's warm start), Welch otherwise, and include the evaluation-sampling error of "
    "each measurement (its per-prompt items). *reported* = a number shown without a verdict (decided by the task "
    "generator or the reward's definition). A tiny-scale run tests the mechanism and direction of an effect, not "
    "the paper's magnitudes."
)


def claims_section(judgements, scale: str) -> list[str]:
    """The claims table, the verdict legend, and per-claim protocol, warnings and revisions."""
    rows = []
    for i, j in enumerate(judgements, 1):
        c = j.claim
        claim_txt = c.claim + (f" ({c.source})" if c.source else "")
        mark = VERDICT_MARK.get(j.verdict, j.verdict)
        if c.revised or j.detail.get("revision"):
            mark += " — **revised after results**"
        if j.warnings:
            mark += " ⚠"
        rows.append([i, claim_txt, c.paper or "—", j.measured, mark])
    lines = [md_table(["#", "claim (source)", "paper", f"measured ({scale} scale)", "verdict"], rows), "",
             VERDICT_LEGEND, ""]  # fmt: skip
    details = []
    for i, j in enumerate(judgements, 1):
        c = j.claim
        bits = [f"kind {c.kind}, definition `{c.definition_hash()}`"]
        if j.detail.get("protocol"):
            bits.append(f"evaluation: {j.detail['protocol']}")
        details.append(f"- **{i}. {c.id}** ({'; '.join(bits)})")
        for w in j.warnings:
            details.append(f"  - ⚠ {w}")
        if c.revised:
            details.append(f"  - **revised after results**: {c.revised}")
        rev = j.detail.get("revision")
        if rev:
            details.append(f"  - **revised after results**: run `{rev['run']}` judged this claim under definition "
                           f"`{rev['definition_hash']}` ({_flat(rev.get('definition') or {})}) as "
                           f"*{rev.get('verdict')}*")  # fmt: skip
        if c.note:
            details.append(f"  - note: {c.note}")
    return lines + ["Per claim:", "", *details, ""]


def measurements_section(run) -> list[str]:
    """Every measurement: mean ± std over seeds with a 90% interval of the mean (seed and item
    error), single measurements with their item bootstrap; ``best_*`` is labelled as test-split
    selection."""
    from r1repro.repro.claims import PSEUDO_WARNING, observe

    rows = []
    metrics = sorted(set(run.measurements) | set(run.once))
    for metric in metrics:
        arms = sorted(set(run.measurements.get(metric, {})) | set(run.once.get(metric, {})))
        for arm in arms:
            obs = observe(metric, arm, run.measurements, run.items, run.once)
            if obs is None:
                continue
            vals = obs.vals()
            its = obs.items.get(obs.seeds[0], {})
            if obs.once and len(its) >= 2:
                iv = stats.bootstrap_mean_ci(list(its.values()))
            else:
                iv = stats.one_sample(vals, 0.0, obs.eval_var())
            ci = (
                "—" if iv.no_error_estimate or not math.isfinite(iv.low) else f"[{iv.low:.4g}, {iv.high:.4g}]"
            )
            label = metric + (
                " (best on the test split: not for claims)" if metric.startswith("best_") else ""
            )
            n = "once" if obs.once else len(vals)
            per = ", ".join(f"{v:.3g}" for v in vals) if not obs.once else f"{vals[0]:.3g}"
            if obs.warning:
                per += " ⚠ " + (
                    PSEUDO_WARNING if obs.warning.startswith(PSEUDO_WARNING) else "floor / ceiling"
                )
            rows.append([label, arm, f"{stats.mean(vals):.4g}", f"{stats.std(vals):.3g}", ci, n,
                         len(its) or "—", per])  # fmt: skip
    return ["## All measurements", "", md_table(["measurement", "arm", "mean", "std over seeds", "90% CI of the mean",
            "n", "items", "per seed"], rows), "",
            "The interval includes the evaluation-sampling error of the items (per-prompt values); a measurement "
            "recorded once (n = once) shows its item-bootstrap interval.", ""]  # fmt: skip


def _flat(d: Any, prefix: str = "") -> str:
    if not isinstance(d, dict):
        return f"{prefix}={d}" if prefix else str(d)
    parts = []
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        parts.append(_flat(v, key) if isinstance(v, dict) and v else f"{key}={v}")
    return ", ".join(parts) if parts else "(base config)"
