"""r1repro plugin for "Safety Subspaces are Not (Linearly) Distinct" (arXiv 2505.14185).

An analysis of weights and activations, not an RL method: `subspace` (alignment subspace,
same / orth / opp projections, energy and cosine diagnostics, weight-space MSO),
`activations` (activation-space MSO), `task` + `pipeline` (the CPU-scale models), and a
command line (``python -m r1repro_safety_subspaces``) for any checkpoints.
"""
