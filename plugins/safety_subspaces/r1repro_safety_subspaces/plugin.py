"""Hook implementations of the safety-subspaces plugin: lazy references, nothing heavy is imported.

The paper is an analysis, so the plugin contributes a reproduction; its analysis components
(`subspace`, `activations`) are plain functions, run on any checkpoints with
``python -m r1repro_safety_subspaces`` (or the ``r1repro-safety-subspaces`` script).
"""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_safety_subspaces.reproduction:SafetySubspacesReproduction", "safety_subspaces",
                 "Safety Subspaces are Not (Linearly) Distinct (arXiv 2505.14185): weight/activation subspace analysis")]  # fmt: skip
