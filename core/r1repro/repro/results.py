"""``r1repro results``: README result tables generated from full-profile reports, not typed.

For every reproduction (``reproductions/<paper>/claims.yaml``) the latest full-profile
``runs/<paper>/<run-id>/results.json`` (or one given on the command line) fills

* the plugin README (``plugins/<paper>/README.md``) between ``<!-- results:begin -->`` and
  ``<!-- results:end -->``: the claims with their measured values and verdicts, and the run id,
  commit, seeds, profile and wall time of the run;
* the top README's table between the same markers: one row per paper with its verdict counts.

A README without the markers is left alone, as is a paper without a full-profile run. Running
it twice changes nothing; ``--check`` changes nothing and fails when a README is stale.

``runs/`` is not in git, so the report a README cites is archived next to its claims
(``reproductions/<paper>/results/<run-id>.json``, the newest only) and read from there when the
run folder is gone: a clean clone regenerates the same tables. A top-table row whose report was
never archived (runs made before the archive existed) is kept as it was, and said so.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
_SECTION = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
COUNTED = ("held", "did not hold", "inconclusive")


@dataclass
class Report:
    paper: str
    path: Path  # results.json
    data: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.path.stem if self.path.name != "results.json" else self.path.parent.name

    @property
    def commit(self) -> str:
        env = self.data.get("environment") or {}
        return str(env.get("git_commit") or "?") + ("-dirty" if env.get("git_dirty") else "")

    @property
    def seeds(self) -> str:
        return str(self.data.get("seeds", "?"))

    @property
    def wall(self) -> str:
        return f"{float(self.data.get('wall_time_s', 0.0)) / 60:.1f} min"

    def counts(self) -> Counter:
        return Counter(c.get("verdict") for c in self.data.get("claims", []))


def papers(root: Path) -> list[str]:
    """Reproductions with claims (``reproductions/<paper>/claims.yaml``)."""
    return sorted(p.parent.name for p in (root / "reproductions").glob("*/claims.yaml"))


def load_report(path: Path) -> Report | None:
    path = path / "results.json" if path.is_dir() else path
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return Report(str(data.get("paper") or path.parent.parent.name), path, data)


ARCHIVE = "results"  # reproductions/<paper>/results/<run-id>.json


def latest_full_report(paper_dir: Path, archive: Path | None = None) -> Report | None:
    """The newest run (by run id, which starts with its date) whose profile is full, at cpu scale,
    among ``paper_dir/<run-id>/results.json`` and the archived ``archive/<run-id>.json``."""
    found = [(r.parent.name, r) for r in paper_dir.glob("*/results.json") if not r.parent.is_symlink()]
    if archive is not None:
        found += [(r.stem, r) for r in archive.glob("*.json")]
    for _, res in sorted(found, key=lambda x: x[0], reverse=True):
        rep = load_report(res)
        if rep and rep.data.get("profile") == "full" and rep.data.get("scale", "cpu") == "cpu":
            rep.paper = paper_dir.name
            return rep
    return None


ARCHIVE_DROP = ("items",)  # per-item evaluation arrays (megabytes): they stay in the run folder


def archive_report(rep: Report, archive: Path) -> Path:
    """Keep ``rep`` as ``archive/<run-id>.json`` (and only it: older archived reports go), without
    the per-item arrays (``ARCHIVE_DROP``): claims, verdicts, measurements, seeds, timing and the
    environment are what the READMEs and a reader need."""
    archive.mkdir(parents=True, exist_ok=True)
    dest = archive / f"{rep.run_id}.json"
    if rep.path.resolve() != dest.resolve():
        slim = {k: v for k, v in rep.data.items() if k not in ARCHIVE_DROP}
        dest.write_text(json.dumps(slim, indent=1, sort_keys=True) + "\n")
    for old in archive.glob("*.json"):
        if old != dest:
            old.unlink()
    return dest


def _kept_rows(text: str, papers_: list[str]) -> dict[str, str]:
    """Rows of the current top table for ``papers_`` (by first cell), to keep as they are."""
    m = _SECTION.search(text)
    rows = {}
    for line in (m.group(0) if m else "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells and cells[0] in papers_:
            rows[cells[0]] = line
    return rows


def _provenance(rep: Report, root: Path) -> str:
    try:
        where = rep.path.resolve().relative_to(root.resolve())
    except ValueError:
        where = rep.path
    return (f"Generated by `r1repro results` from `{where}`: run `{rep.run_id}`, commit `{rep.commit}`, profile "
            f"{rep.data.get('profile')}, seeds {rep.seeds}, wall time {rep.wall}. Do not edit by hand.")  # fmt: skip


def plugin_section(rep: Report, root: Path) -> str:
    from r1repro.repro.report import VERDICT_MARK, md_table

    rows = []
    for i, c in enumerate(rep.data.get("claims", []), 1):
        mark = VERDICT_MARK.get(c.get("verdict"), c.get("verdict"))
        if c.get("revised") or c.get("revision"):
            mark += " (revised after results)"
        if c.get("warnings"):
            mark += " ⚠"
        claim = c.get("claim", c.get("id")) + (f" ({c['source']})" if c.get("source") else "")
        rows.append([i, claim, c.get("paper") or "—", c.get("measured", ""), mark])
    table = md_table(["#", "claim (source)", "paper", "measured (cpu scale)", "verdict"], rows)
    return "\n".join([BEGIN, _provenance(rep, root), "", table, END])


def top_section(reports: dict[str, Report], missing: list[str], kept: dict[str, str] | None = None) -> str:
    from r1repro.repro.report import md_table

    kept = kept or {}
    rows = []
    for paper, rep in sorted(reports.items()):
        n = rep.counts()
        other = sum(v for k, v in n.items() if k not in COUNTED)
        rows.append([paper, f"`{rep.run_id}`", f"`{rep.commit}`", rep.seeds, rep.wall,
                     n["held"], n["did not hold"], n["inconclusive"], other])  # fmt: skip
    table = md_table(["paper", "run", "commit", "seeds", "wall", "held", "did not hold", "inconclusive",
                      "reported / match"], rows).splitlines()  # fmt: skip
    body = table[:2] + sorted(table[2:] + list(kept.values()), key=lambda r: r.strip("| ").split(" ")[0])
    lines = [BEGIN, "Generated by `r1repro results` from each paper's latest full-profile run. Do not edit by hand.",
             "", *body]  # fmt: skip
    if kept:
        lines += ["", "Kept from an earlier generation (the run's results.json predates the archive in "
                  "`reproductions/<paper>/results/`): " + ", ".join(sorted(kept)) + "."]
    missing = [p for p in missing if p not in kept]
    if missing:
        lines += ["", "No full-profile run yet: " + ", ".join(missing) + "."]
    return "\n".join(lines + [END])


def replace_section(text: str, section: str) -> str | None:
    """``text`` with its marked section replaced (None: no markers)."""
    if not _SECTION.search(text):
        return None
    return _SECTION.sub(lambda _: section, text, count=1)


def update_results(root: Path, runs: Path, given: list[Path] | None = None, check: bool = False,
                   log=print) -> list[Path]:  # fmt: skip
    """Regenerate (or, with ``check``, verify) the README sections; returns the stale READMEs."""
    chosen: dict[str, Report] = {}
    for p in given or []:
        rep = load_report(Path(p))
        if rep is None:
            raise FileNotFoundError(f"no results.json at {p}")
        chosen[rep.paper] = rep
    reports, missing = {}, []
    for paper in papers(root):
        archive = root / "reproductions" / paper / ARCHIVE
        rep = chosen.get(paper) or latest_full_report(runs / paper, archive)
        if rep is None:
            missing.append(paper)
            continue
        # cite the archived copy (what a clean clone has); --check only says where it would be
        rep = Report(rep.paper, archive / f"{rep.run_id}.json" if check else archive_report(rep, archive), rep.data)
        reports[paper] = rep
    targets = [
        (root / "plugins" / paper / "README.md", plugin_section(rep, root)) for paper, rep in reports.items()
    ]
    top = root / "README.md"
    kept = _kept_rows(top.read_text(), missing) if top.exists() else {}
    targets.append((top, top_section(reports, missing, kept)))
    stale = []
    for readme, section in targets:
        if not readme.exists():
            continue
        text = readme.read_text()
        new = replace_section(text, section)
        if new is None:
            log(f"{readme}: no {BEGIN} ... {END} markers, left alone")
            continue
        if new != text:
            stale.append(readme)
            if not check:
                readme.write_text(new)
                log(f"{readme}: results section regenerated")
    for paper in missing:
        log(f"{paper}: no full-profile run under {runs / paper} (make reproduce PAPER={paper} PROFILE=full)")
    return stale
