"""Weight-space analysis of "Safety Subspaces are Not (Linearly) Distinct" (arXiv 2505.14185).

Three checkpoints: base W_b, aligned W_a (the instruct model) and fine-tuned W_f. Per weight
matrix the *alignment update* is ΔA = W_a − W_b and the *task update* ΔT = W_f − W_a.

* **Alignment subspace** (Exp. 1-2): the top-k left singular vectors L of ΔA,
  k = max(1, round(frac · min(m, n))) (official ``utils/post_processing_subspace.py:34-46``).
* **Projection** of the task update onto it: U∥ = L Lᵀ ΔT (``:107-115``). Tensors that are not
  2-D (biases, norms), and fractions outside (0, 1), use the one-dimensional projection onto ΔA
  itself, (⟨ΔT, ΔA⟩ / ‖ΔA‖²) ΔA (``:109-120``). Variants (``:127-135``): *same* W_a + U∥,
  *orth* W_a + (ΔT − U∥), *opp* W_a − U∥.
* **Diagnostics** (``:137-157``), summed over all tensors: energy kept E = ‖P‖² / ‖ΔT‖² with P
  the applied update, cos(ΔT, P), and cos(ΔT, ΔA). The official cos(ΔT, ΔA) (``:155``, and
  ``compute_raw_metrics`` ``:79``) divides ⟨ΔT, ΔA⟩ by √⟨ΔT, ΔA⟩ · √⟨ΔA, ΔA⟩ instead of
  ‖ΔT‖ · ‖ΔA‖: it returns √⟨ΔT, ΔA⟩ / ‖ΔA‖ (not scale-free, and a complex number in Python when
  ⟨ΔT, ΔA⟩ < 0). `cosine` is the correct one; `official_cosine_task_align` reproduces the bug.
* **Mode subspace overlap** (Exp. 3, ``exp-3-update_spaces/update_spaces_functions.py``): Q_u,
  Q_h are the smallest left-singular bases capturing a fraction η of ‖ΔW‖²_F (``:44-62``),
  MSO = ‖Q_uᵀ Q_h‖²_F / min(k_u, k_h) (``:141-142``), random baseline max(k_u, k_h) / d
  (``:145-146``), the expected MSO of two Haar-random subspaces of those dimensions.

Deviations (see README): exact SVD instead of ``svd_lowrank`` (the official q = k randomised
SVD with 2 power iterations is approximate); float32 throughout (official: float16 weights);
tied weights counted once; tensor granularity only (the official "layer" grouping regex is
double-escaped and never matches, and its concatenation would need equal column counts).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

VARIANTS = ("same", "orth", "opp")
"""Projection variants (official ``post_processing_subspace.py:127-135``)."""
PAPER_FRACS = (0.01, 0.25, 0.5, 0.75, 0.99)
"""Fractions of min(m, n) kept in the alignment subspace (paper Exp. 1-2)."""
PAPER_ENERGY_FRACS = (0.01, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99)
"""η values of the MSO sweep (official ``update_spaces_functions.py:189``)."""


# ----------------------------------------------------------------- alignment subspace
def rank_for_fraction(shape: tuple[int, int], frac: float) -> int:
    """k = max(1, round(frac · min(m, n))) (official ``post_processing_subspace.py:41``)."""
    return max(1, int(round(frac * min(shape))))


def alignment_basis(delta_a: torch.Tensor, frac: float) -> torch.Tensor | None:
    """Top-k left singular vectors of a 2-D alignment update; None where the official code
    falls back to the one-dimensional projection (frac outside (0, 1))."""
    import torch

    if not 0.0 < frac < 1.0:
        return None
    k = rank_for_fraction(tuple(delta_a.shape), frac)
    u, _, _ = torch.linalg.svd(delta_a.float(), full_matrices=False)
    return u[:, :k]


def parallel_component(delta_t: torch.Tensor, delta_a: torch.Tensor, frac: float) -> torch.Tensor:
    """U∥: the part of the task update inside the alignment subspace of one tensor."""
    import torch

    t, a = delta_t.float(), delta_a.float()
    basis = alignment_basis(a, frac) if a.ndim == 2 else None
    if basis is not None:
        return basis @ (basis.T @ t)
    denom = torch.sum(a * a)
    if denom == 0:
        return torch.zeros_like(t)
    return (torch.sum(t * a) / denom) * a


def applied_update(delta_t: torch.Tensor, parallel: torch.Tensor, variant: str) -> torch.Tensor:
    """The update P that a variant adds to W_a: same U∥, orth ΔT − U∥, opp −U∥."""
    if variant == "same":
        return parallel
    if variant == "opp":
        return -parallel
    if variant == "orth":
        return delta_t.float() - parallel
    raise ValueError(f"unknown projection variant {variant!r}; choose one of {', '.join(VARIANTS)}")


# ----------------------------------------------------------------- diagnostics
def cosine(dot_uv: float, dot_uu: float, dot_vv: float) -> float:
    """cos(U, V) = ⟨U, V⟩ / (‖U‖ ‖V‖); 0 when either is zero."""
    denom = math.sqrt(dot_uu) * math.sqrt(dot_vv)
    return dot_uv / denom if denom > 0 else 0.0


def official_cosine_task_align(dot_uv: float, dot_vv: float, eps: float = 1e-12) -> float:
    """The official ``cosine_task_align`` (``post_processing_subspace.py:79`` and ``:155``):
    ⟨U, V⟩ / (√⟨U, V⟩ · √⟨V, V⟩ + ε) = √⟨U, V⟩ / ‖V‖. Python's ``x ** 0.5`` of a negative
    float is complex there; we return NaN for that case."""
    if dot_uv < 0:
        return float("nan")
    return dot_uv / ((dot_uv**0.5) * (dot_vv**0.5) + eps)


@dataclass
class Diagnostics:
    energy_kept: float
    """E = ‖P‖² / ‖ΔT‖² (official ``energy_kept_ratio``)."""
    cosine_task_proj: float
    """cos(ΔT, P)."""
    cosine_task_align: float
    """cos(ΔT, ΔA), with the correct norm ‖ΔT‖ ‖ΔA‖."""
    cosine_task_align_official: float
    """The official value √⟨ΔT, ΔA⟩ / ‖ΔA‖ (the bug, kept for comparison)."""

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class _Dots:
    """Running sums of the inner products the diagnostics need, over all tensors."""

    def __init__(self) -> None:
        self.uu = self.pp = self.up = self.uv = self.vv = 0.0

    def add(self, u: torch.Tensor, p: torch.Tensor, v: torch.Tensor) -> None:
        import torch

        self.uu += float(torch.sum(u * u))
        self.pp += float(torch.sum(p * p))
        self.up += float(torch.sum(u * p))
        self.uv += float(torch.sum(u * v))
        self.vv += float(torch.sum(v * v))

    def diagnostics(self) -> Diagnostics:
        return Diagnostics(
            energy_kept=self.pp / self.uu if self.uu > 0 else 0.0,
            cosine_task_proj=cosine(self.up, self.uu, self.pp),
            cosine_task_align=cosine(self.uv, self.uu, self.vv),
            cosine_task_align_official=official_cosine_task_align(self.uv, self.vv),
        )


def float_names(weights: dict[str, torch.Tensor]) -> list[str]:
    return [n for n, w in weights.items() if w.is_floating_point()]


def check_same_keys(*weights: dict[str, torch.Tensor]) -> None:
    """One clear error when checkpoints do not share an architecture."""
    first = weights[0]
    for other in weights[1:]:
        missing = set(first) ^ set(other)
        if missing:
            raise ValueError(f"checkpoints differ in parameters: {sorted(missing)[:5]} ...")
        for n in first:
            if first[n].shape != other[n].shape:
                raise ValueError(
                    f"parameter {n}: shapes differ {tuple(first[n].shape)} vs {tuple(other[n].shape)}"
                )


def project_checkpoint(base: dict[str, torch.Tensor], aligned: dict[str, torch.Tensor],
                       finetuned: dict[str, torch.Tensor], variant: str, frac: float
                       ) -> tuple[dict[str, torch.Tensor], Diagnostics]:  # fmt: skip
    """W_a + P(ΔT) for every tensor (non-float tensors copied from W_f) and the diagnostics."""
    import torch

    check_same_keys(base, aligned, finetuned)
    dots = _Dots()
    out: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for name, w_f in finetuned.items():
            if not w_f.is_floating_point():
                out[name] = w_f.clone()
                continue
            w_a = aligned[name].float()
            delta_a = w_a - base[name].float()
            delta_t = w_f.float() - w_a
            p = applied_update(delta_t, parallel_component(delta_t, delta_a, frac), variant)
            dots.add(delta_t, p, delta_a)
            out[name] = (w_a + p).to(w_f.dtype)
    return out, dots.diagnostics()


# ----------------------------------------------------------------- mode subspace overlap
def as_matrix(t: torch.Tensor) -> torch.Tensor:
    """1-D → (n, 1), 2-D unchanged, ≥3-D → (out, −1) (official ``update_spaces_functions.py:30-41``)."""
    if t.ndim == 1:
        return t.unsqueeze(1)
    if t.ndim == 2:
        return t
    return t.reshape(t.shape[0], -1)


def energy_basis(mat: torch.Tensor, eta: float) -> tuple[torch.Tensor, int] | None:
    """The smallest left-singular basis capturing ≥ η of ‖mat‖²_F: k = searchsorted(cumsum σ²,
    η · Σσ²) + 1 (official ``update_spaces_functions.py:60-62``). None for a zero matrix."""
    import torch

    u, s, _ = torch.linalg.svd(mat.float(), full_matrices=False)
    energy = torch.cumsum(s**2, dim=0)
    if float(energy[-1]) <= 0:
        return None
    k = int(torch.searchsorted(energy, eta * energy[-1])) + 1
    k = min(k, s.numel())
    return u[:, :k], k


def mso(q_a: torch.Tensor, q_b: torch.Tensor) -> float:
    """MSO = ‖Q_aᵀ Q_b‖²_F / min(k_a, k_b): 1 when one subspace contains the other, ~k/d at random."""
    import torch

    overlap = q_a.T @ q_b
    return float(torch.sum(overlap * overlap)) / min(q_a.shape[1], q_b.shape[1])


def mso_random(k_a: int, k_b: int, d: int) -> float:
    """Expected MSO of two independent Haar-random subspaces: E‖Q_aᵀQ_b‖² = k_a k_b / d, over min(k_a, k_b)."""
    return max(k_a, k_b) / d


@dataclass
class OverlapRow:
    group: str
    k_a: int
    k_b: int
    d: int
    mso: float
    mso_random: float


def matrix_overlap(group: str, mat_a: torch.Tensor, mat_b: torch.Tensor, eta: float) -> OverlapRow | None:
    """MSO of the η-energy left bases of two matrices with the same row space dimension d."""
    basis_a, basis_b = energy_basis(mat_a, eta), energy_basis(mat_b, eta)
    if basis_a is None or basis_b is None:
        return None
    (q_a, k_a), (q_b, k_b) = basis_a, basis_b
    d = q_a.shape[0]
    return OverlapRow(group, k_a, k_b, d, mso(q_a, q_b), mso_random(k_a, k_b, d))


def weight_overlap(reference: dict[str, torch.Tensor], a: dict[str, torch.Tensor], b: dict[str, torch.Tensor],
                   eta: float, only_2d: bool = True) -> list[OverlapRow]:  # fmt: skip
    """Per-tensor MSO between the updates a − reference and b − reference (Exp. 3, tensor
    granularity). ``only_2d`` skips biases and norms (a 1-column update has k = 1 and its
    "MSO" is a squared cosine; the official code includes them)."""
    check_same_keys(reference, a, b)
    rows = []
    for name in float_names(reference):
        w0 = reference[name].float()
        if only_2d and w0.ndim != 2:
            continue
        row = matrix_overlap(name, as_matrix(a[name].float() - w0), as_matrix(b[name].float() - w0), eta)
        if row is not None:
            rows.append(row)
    return rows


def mean_rows(rows: list[OverlapRow]) -> tuple[float, float]:
    """(mean MSO, mean random baseline) over the groups."""
    if not rows:
        return float("nan"), float("nan")
    return sum(r.mso for r in rows) / len(rows), sum(r.mso_random for r in rows) / len(rows)


# ----------------------------------------------------------------- checkpoints
def load_weights(path: str) -> dict[str, torch.Tensor]:
    """Float32 parameters of a causal LM (hub id, folder, or ``tiny:<size>``); tied weights once."""
    from r1repro.models.tiny import load_policy

    model, _ = load_policy(path)
    return {n: p.detach().float().clone() for n, p in model.named_parameters()}
