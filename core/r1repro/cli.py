"""The ``r1repro`` command line."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
from pathlib import Path

DESCRIPTION = """\
r1repro: paper reproductions for RL of LLM reasoning (R1-Zero / GRPO), as plugins on verl.

Every paper is a plugin that registers rewards, templates, datasets, estimators, policy
losses, environments and a reproduction. The core runs them on a tiny policy on CPU
(scale=cpu, the default) or launches verl with the paper's model and hyperparameters
(scale=paper).
"""

EPILOG = """\
examples:
  r1repro list                                   plugins and their components, by kind
  r1repro reproduce tinyv                        CPU-scale reproduction -> runs/tinyv/<run-id>/report.md
  r1repro reproduce tinyv --scale paper --dry-run
                                                 print the verl command and the config verl accepted
  r1repro reproduce tinyv seeds=[0] engine.trainer.total_steps=5
                                                 hydra overrides of reproductions/tinyv/config.yaml
  r1repro score --reward tinyv.addon --input samples.jsonl --output scored.jsonl
                                                 score a JSONL of samples with any registered reward
  r1repro train reward=core.exact_match trainer.total_steps=20
                                                 one local-engine run with dotted overrides
  r1repro reproduce tinyv --profile full        5 seeds: the run README tables come from
  r1repro results [--check]                      README result tables from the latest full-profile runs
  r1repro new-plugin mypaper                     scaffold plugins/mypaper (pyproject, hooks, README, test)
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="r1repro",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    ls = sub.add_parser("list", help="list plugins and components", description="List installed plugins, "
                        "their components by kind, and any plugin that failed to load.")  # fmt: skip
    ls.add_argument("--kind", help="only this component kind (reward, template, dataset, estimator, ...)")
    ls.add_argument("--json", action="store_true", help="machine-readable output")

    rp = sub.add_parser(
        "reproduce",
        help="run a paper's reproduction",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Run a paper's reproduction. At scale=cpu it trains the arms of
            reproductions/<paper>/config.yaml on a tiny policy for every seed and writes
            runs/<paper>/<run-id>/report.md (claims, measured values, verdicts), plots and
            results.json. At scale=paper it exports the datasets to parquet, composes and
            validates verl's config and launches `python -m verl.trainer.main_ppo`."""),
    )
    rp.add_argument("paper", help="the reproduction's name (see `r1repro list --kind reproduction`)")
    rp.add_argument("--scale", default="cpu", choices=["cpu", "paper"], help="cpu (default) or paper")
    rp.add_argument(
        "--dry-run", action="store_true", help="print the composed config (paper scale: and the verl command) and stop; nothing is trained"
    )
    rp.add_argument("--run-id", help="reuse a run folder (finished arms are resumed from their checkpoints)")
    rp.add_argument("--quiet", action="store_true")
    rp.add_argument("--profile", choices=["quick", "full"], help="quick (default: the config's seeds, else 3) or "
                    "full (5 seeds, for README tables); an explicit seeds=[...] override wins")  # fmt: skip
    rp.add_argument(
        "overrides", nargs="*", help="hydra overrides, e.g. seeds=[0,1] engine.trainer.total_steps=10"
    )

    sc = sub.add_parser(
        "score",
        help="score a JSONL of samples with a reward",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.dedent("""\
            Score samples with any registered reward. Each input line is a JSON object with at
            least "response" (and usually "ground_truth"; optional: problem, data_source,
            domain, group_id, extra, meta, ...). One JSON line is written per input line, in
            order (blank lines included): the input fields plus "score" and "info". A line
            that is not a JSON object or has a field of the wrong type gets "error" instead;
            a sample the reward failed on has info.error. Exit 1 if any line failed (the count
            is printed on stderr), 2 if nothing could be scored. Group-aware rewards see
            samples grouped by "group_id"."""),
    )
    sc.add_argument("--reward", required=True, help='reward name, or a JSON spec {"name": ..., options}')
    sc.add_argument("--input", required=True, help="JSONL file ('-' for stdin)")
    sc.add_argument("--output", help="JSONL file (default: stdout)")
    sc.add_argument("--batch-size", type=_positive_int, default=256, help="samples per reward call (>= 1)")

    tr = sub.add_parser("train", help="one local-engine training run", description="Train with the local "
                        "engine; arguments are dotted overrides of r1repro.engine.config.EngineConfig.")  # fmt: skip
    tr.add_argument("overrides", nargs="*")
    tr.add_argument("--config", help="YAML file with an engine config to start from")

    rs = sub.add_parser("results", help="regenerate README result tables from full-profile runs",
                        description="For every reproduction, take its latest full-profile report under "
                        "runs/<paper>/ (or the run folders / results.json given) and regenerate the plugin README's "
                        "and the top README's sections between <!-- results:begin --> and <!-- results:end -->.")  # fmt: skip
    rs.add_argument("reports", nargs="*", help="run folders or results.json files to use instead of the latest")
    rs.add_argument("--runs", help="runs folder (default: R1REPRO_RUNS or <repo>/runs)")
    rs.add_argument("--root", help="repository root (default: this checkout)")
    rs.add_argument("--check", action="store_true", help="change nothing; exit 1 if a README is stale")

    npl = sub.add_parser("new-plugin", help="scaffold a new paper plugin", description="Create plugins/<name>/ "
                         "with pyproject.toml (entry point), hooks, reward/templates/data modules, README "
                         "and a passing test.")  # fmt: skip
    npl.add_argument("name", help="short paper name (a Python identifier, e.g. mypaper)")
    npl.add_argument("--dir", default="plugins", help="parent folder (default: plugins)")
    npl.add_argument("--title", default="", help="the paper's title")
    return p


def cmd_list(args) -> int:
    from r1repro.hookspecs import KINDS
    from r1repro.registry import get_registry

    reg = get_registry()
    if args.json:
        print(json.dumps({"plugins": [p.__dict__ for p in reg.plugins.values()], "components": reg.describe(),
                          "errors": [e.__dict__ for e in reg.errors]}, indent=2))  # fmt: skip
        return 0
    print("plugins:")
    for p in sorted(reg.plugins.values(), key=lambda p: p.name):
        print(f"  {p.name:<18} {p.distribution or '-'} {p.version}")
    kinds = [args.kind] if args.kind else list(KINDS)
    for kind in kinds:
        entries = reg.describe().get(kind)
        if entries is None:
            print(f"unknown kind '{kind}'; kinds: {', '.join(KINDS)}", file=sys.stderr)
            return 2
        print(f"\n{kind} ({KINDS[kind]}): {len(entries)}")
        for e in entries:
            desc = (e["description"] or "")[:90]
            print(f"  {e['name']:<28} {desc}")
    if reg.errors:
        print("\nplugin problems (the other plugins work):", file=sys.stderr)
        for e in reg.errors:
            print(f"  - {e}", file=sys.stderr)
    return 0


def cmd_reproduce(args) -> int:
    from r1repro.registry import get_registry
    from r1repro.repro.preflight import compose_checked
    from r1repro.repro.run import run_reproduction

    # the overrides are checked (syntax, keys, types) before anything is created on disk
    repro = get_registry().build("reproduction", args.paper)
    compose_checked(repro.resolve_config_dir(), args.scale, list(args.overrides), profile=args.profile)

    summary = run_reproduction(args.paper, scale=args.scale, overrides=args.overrides, run_id=args.run_id,
                               dry_run=args.dry_run, quiet=args.quiet, profile=args.profile)  # fmt: skip
    if args.scale == "cpu" and not summary.get("dry_run"):
        print(f"\nreport: {summary['report']}")
        for cid, v in summary["verdicts"].items():
            print(f"  {cid:<32} {v}")
    return 0


def _strict_json(x):
    """NaN / inf (e.g. an info value that was not computed) become null: the output is strict JSON."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _strict_json(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_strict_json(v) for v in x]
    return x


def _parse_spec(text: str):
    """A component spec: a name (``tinyv.addon``) or a mapping in JSON or YAML flow style
    (``{name: tinyv.addon, judge: {backend: openai, model: m}}``)."""
    text = text.strip()
    if not text.startswith("{"):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    import yaml

    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SystemExit(f"r1repro: cannot read the spec {text!r} (JSON or YAML flow style): {e}") from None
    if not isinstance(spec, dict) or "name" not in spec:
        raise SystemExit(f"r1repro: a spec mapping needs a 'name' key, got {text!r}")
    return spec


def _check_output_path(path: str) -> None:
    """Fail before any scoring if the output cannot be written (a folder, no parent folder)."""
    out = Path(path)
    if out.is_dir():
        raise IsADirectoryError(f"--output {path} is a folder, not a file")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"--output {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise PermissionError(f"--output {path} is not writable")


def _read_lines(path: str) -> list[str]:
    if path == "-":
        return sys.stdin.read().splitlines()
    if Path(path).is_dir():
        raise IsADirectoryError(f"--input {path} is a folder, not a JSONL file")
    with open(path, encoding="utf-8", errors="replace") as src:
        return src.read().splitlines()


def _parse_line(text: str, lineno: int):
    """(record, Sample) of one input line, or raise ValueError saying what is wrong with it."""
    import copy

    from r1repro.components import admit_sample
    from r1repro.types import Sample

    if not text.strip():
        raise ValueError("blank line (no sample)")
    try:
        rec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(rec, dict):
        raise ValueError(f"not a JSON object (got {type(rec).__name__})")
    try:  # a deep copy: a reward that edits sample.extra must not change the echoed input
        sample = Sample.from_dict(copy.deepcopy(rec))
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    sample, why = admit_sample(sample)
    if sample is None:
        raise ValueError(why)
    return rec, sample


def cmd_score(args) -> int:
    """One output line per input line (blank and broken lines included, numbered as in the
    file): the input object plus "score" and "info", or "error". Exit 1 if any line failed
    (bad input, or a reward error such as a judge that did not answer), with a count."""
    from r1repro.components import group_indices
    from r1repro.registry import build

    if args.output:
        _check_output_path(args.output)
    lines = _read_lines(args.input)  # before building the reward: a bad path fails fast
    reward = build("reward", _parse_spec(args.reward))
    records: list[dict] = []
    samples, where = [], []
    for i, ln in enumerate(lines):
        try:
            rec, sample = _parse_line(ln, i + 1)
        except ValueError as exc:
            records.append({"error": f"line {i + 1}: {exc}"})
            continue
        records.append(rec)
        samples.append(sample)
        where.append(i)
    results: dict[int, tuple[float, dict]] = {}
    # keep groups together so group-aware rewards see every rollout of a prompt
    order = [i for idxs in group_indices(samples).values() for i in idxs]
    for start in range(0, len(order), args.batch_size):
        chunk = order[start : start + args.batch_size]
        for k, res in zip(chunk, reward([samples[k] for k in chunk])):
            results[where[k]] = (res.score, res.info)
    failed = 0
    out = sys.stdout if not args.output else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
    try:
        for i, rec in enumerate(records):
            if i in results:
                score, info = results[i]
                rec = {**rec, "score": score, "info": info}
                failed += "error" in info
            else:
                failed += 1
            out.write(json.dumps(_strict_json(rec), default=str) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    where_to = f" -> {args.output}" if args.output else ""
    print(f"scored {len(results)} of {len(records)} lines{where_to}; {failed} failed", file=sys.stderr)
    if failed:
        print(f"r1repro score: {failed} of {len(records)} lines failed (see their \"error\" fields)",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def cmd_train(args) -> int:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from r1repro.engine.config import make_config
    from r1repro.engine.local import LocalEngine
    from r1repro.repro.preflight import ReproductionNotReady, _one_line

    try:  # a bad override or config file is one line, before anything runs
        base = OmegaConf.to_container(OmegaConf.load(args.config)) if args.config else None
        cfg = make_config(base, args.overrides)
    except (OmegaConfBaseException, ValueError) as exc:
        raise ReproductionNotReady(f"bad config or override: {_one_line(exc)}") from None
    summary = LocalEngine(cfg).train()
    print(json.dumps(summary, indent=2, default=str))
    return 0


def cmd_results(args) -> int:
    from r1repro.paths import repo_root, runs_dir
    from r1repro.repro.results import update_results

    root = Path(args.root) if args.root else repo_root()
    if root is None:
        raise FileNotFoundError("r1repro results: run it from a checkout of r1repro (or pass --root)")
    stale = update_results(root, Path(args.runs) if args.runs else runs_dir(), [Path(p) for p in args.reports],
                           check=args.check)  # fmt: skip
    if args.check and stale:
        print("stale: " + ", ".join(str(p) for p in stale) + " (run `make results`)", file=sys.stderr)
        return 1
    return 0


def cmd_new_plugin(args) -> int:
    from r1repro.scaffold import create_plugin

    path = create_plugin(args.name, Path(args.dir), title=args.title)
    print(f"created {path}\nnext: pip install -e {path} && r1repro list && pytest {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    # parse_known_args: argparse cannot give a positional list (the overrides) tokens that come
    # after an option (`reproduce toy --scale paper verl.cpu_smoke=true`, what `make reproduce` runs).
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "overrides", None) is not None and not any(e.startswith("-") for e in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    handlers = {"list": cmd_list, "reproduce": cmd_reproduce, "score": cmd_score, "train": cmd_train,
                "new-plugin": cmd_new_plugin, "results": cmd_results}  # fmt: skip
    if args.command is None:
        _parser().print_help()
        return 0
    from r1repro.components import DatasetUnavailable, RewardUnavailable
    from r1repro.registry import RegistryError
    from r1repro.repro.preflight import ReproductionNotReady

    try:
        return handlers[args.command](args)
    except (RegistryError, ReproductionNotReady, RewardUnavailable, DatasetUnavailable, OSError) as exc:
        # what the user can fix (a name, an option, an override, a path, missing data or
        # judge): one line, no traceback. OSError covers a missing file, a folder, no permission.
        print(f"r1repro {args.command}: {_first_line(exc)}", file=sys.stderr)
        return 2


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}"
    return (text.splitlines() or [type(exc).__name__])[0]


if __name__ == "__main__":
    sys.exit(main())
