"""Command line for the analysis on any checkpoints (hub ids, local folders, ``tiny:<size>``).

    python -m r1repro_safety_subspaces project --base B --aligned A --finetuned F \\
        [--variant same orth opp] [--frac 0.01 0.25 ...] [--out DIR]
    python -m r1repro_safety_subspaces mso --reference R A B [--eta 0.9 ...] [--with-1d]
    python -m r1repro_safety_subspaces activations --model M [M2 ...] --useful U.txt --harmful H.txt \\
        [--eta 0.9] [--centering]
    python -m r1repro_safety_subspaces paper

``project`` is Exp. 1-2 (alignment subspace of B → A, the update A → F projected; diagnostics as
JSON; ``--out`` writes the projected model of a single variant and fraction); ``mso`` is Exp. 3
for the two updates R → A and R → B (e.g. two RL or SFT runs from one checkpoint); ``activations``
is Exp. 4 for each model (prompt files: one prompt a line); ``paper`` says what the paper scale
needs. Output is JSON on stdout; errors are one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from r1repro_safety_subspaces.subspace import PAPER_FRACS, VARIANTS

PAPER_SCALE = """\
Paper scale (arXiv 2505.14185; official CERT-Lab/safety-subspaces) needs, per model pair
(Llama-3.2-1B -> -Instruct, Qwen2.5-7B -> -Instruct, ...):
  1. full fine-tunes of the instruct model, 1 epoch, batch 1, lr 1e-5, max_seq 512, on
     useful (meta-math/MetaMathQA train[:20000]), harmful (4000 unsafe PKU-Alignment/BeaverTails
     30k_train rows) and contaminated (useful + 20% unsafe) data: GPU, hub access;
  2. projections (this tool: `project`, frac in 0.01 0.25 0.5 0.75 0.99, same/orth/opp), each
     scored for utility (GSM8K 1-shot, lm_eval flexible-extract) and harm (AdvBench, 520 prompts);
  3. MSO of the useful vs harmful updates (this tool: `mso`) and activation MSO (`activations`,
     BeaverTails 330k_test unsafe / ToxiGen vs MetaMathQA prompts).
What cannot run here: the harm judge is gpt-4o-mini (an LLM behind an API, 1-5 scale, official
eval_advbench/advbench_eval.py); no offline stand-in scores AdvBench the way the paper did, so
harm numbers at paper scale need an OpenAI-compatible judge endpoint. The hub models and
datasets above need network access. The analysis commands run on any checkpoints you have.
"""


def _lines(path: str) -> list[str]:
    lines = [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f"{path}: no prompts (one prompt a line)")
    return lines


def cmd_project(args) -> dict:
    from r1repro_safety_subspaces import subspace

    if args.out and (len(args.variant) != 1 or len(args.frac) != 1):
        raise ValueError("--out writes one projected model: give exactly one --variant and one --frac")
    base, aligned, ft = (subspace.load_weights(p) for p in (args.base, args.aligned, args.finetuned))
    results = []
    for variant in args.variant:
        for frac in args.frac:
            weights, diag = subspace.project_checkpoint(base, aligned, ft, variant, frac)
            results.append({"variant": variant, "frac": frac, **diag.as_dict()})
    if args.out:
        from r1repro.models.tiny import load_policy, save_model_dir

        model, tok = load_policy(args.finetuned)
        model.load_state_dict(weights, strict=False)
        save_model_dir(model, tok, Path(args.out))
    return {"base": args.base, "aligned": args.aligned, "finetuned": args.finetuned, "projections": results}


def cmd_mso(args) -> dict:
    from r1repro_safety_subspaces import subspace

    ref, a, b = (subspace.load_weights(p) for p in (args.reference, args.a, args.b))
    out = []
    for eta in args.eta:
        rows = subspace.weight_overlap(ref, a, b, eta, only_2d=not args.with_1d)
        m, r = subspace.mean_rows(rows)
        out.append({"eta": eta, "mean_mso": m, "mean_mso_random": r, "tensors": [vars(x) for x in rows]})
    return {"reference": args.reference, "a": args.a, "b": args.b, "results": out}


def cmd_activations(args) -> dict:
    from r1repro.models.tiny import load_policy
    from r1repro_safety_subspaces.activations import model_activation_overlap

    useful, harmful = _lines(args.useful), _lines(args.harmful)
    out = {}
    for path in args.model:
        model, tok = load_policy(path)
        rows = model_activation_overlap(model, tok, useful, harmful, args.eta, centering=args.centering)
        out[path] = [vars(r) for r in rows]
    return {"eta": args.eta, "centering": args.centering, "models": out}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m r1repro_safety_subspaces", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pr = sub.add_parser("project", help="Exp. 1-2: project a fine-tune's update onto the alignment subspace")
    pr.add_argument("--base", required=True)
    pr.add_argument("--aligned", required=True)
    pr.add_argument("--finetuned", required=True)
    pr.add_argument("--variant", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    pr.add_argument("--frac", nargs="+", type=float, default=list(PAPER_FRACS))
    pr.add_argument("--out", help="write the projected model here (one variant, one frac)")
    ms = sub.add_parser(
        "mso", help="Exp. 3: mode subspace overlap of the updates reference->a and reference->b"
    )
    ms.add_argument("--reference", required=True)
    ms.add_argument("a")
    ms.add_argument("b")
    ms.add_argument("--eta", nargs="+", type=float, default=[0.9])
    ms.add_argument(
        "--with-1d", action="store_true", help="include biases and norms (the official code does)"
    )
    ac = sub.add_parser("activations", help="Exp. 4: activation MSO of useful vs harmful prompts")
    ac.add_argument("--model", nargs="+", required=True)
    ac.add_argument("--useful", required=True)
    ac.add_argument("--harmful", required=True)
    ac.add_argument("--eta", type=float, default=0.9)
    ac.add_argument("--centering", action="store_true")
    sub.add_parser("paper", help="what the paper scale needs and what cannot run here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.cmd == "paper":
        print(PAPER_SCALE, end="")
        return 0
    try:
        result = {"project": cmd_project, "mso": cmd_mso, "activations": cmd_activations}[args.cmd](args)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=float))
    return 0
