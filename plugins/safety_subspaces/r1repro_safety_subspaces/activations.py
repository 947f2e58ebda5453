"""Activation-space overlap (paper Exp. 4; official ``exp-4-activation_spaces/activation_space.py``).

For one model, the last-token residual stream of N useful and N harmful prompts is collected at
every hidden state (``output_hidden_states``: the embeddings plus one per block, so L + 1
states; ``:46-73``). At each layer l in [⌊0.65·(L+1)⌋, ⌊0.90·(L+1)⌋) (``:284-287``) the two
N × D activation matrices get η-energy left bases of their transposes (D × N), and their MSO is
compared with the random baseline max(k_u, k_h) / D (``:293-298``). Uncentred by default
(``centering=False`` in the official driver, ``:364``).

Deviation: the official code reads position −1 of a right-padded batch (``:65``), which for
every prompt shorter than the longest is a pad token; we read each prompt's last real token.
A model too shallow for the window to contain a layer gets the one layer at its start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from r1repro_safety_subspaces.subspace import OverlapRow, matrix_overlap

if TYPE_CHECKING:
    import torch

LAYER_WINDOW = (0.65, 0.90)
"""Fractions of the hidden-state count bounding the analysed layers (official ``:284-285``)."""


def layer_window(n_states: int, window: tuple[float, float] = LAYER_WINDOW) -> list[int]:
    """Hidden-state indices in [⌊lo·n⌋, ⌊hi·n⌋), at least one."""
    lo, hi = int(window[0] * n_states), int(window[1] * n_states)
    return list(range(lo, max(hi, lo + 1)))


def last_token_states(model, tok, texts: list[str], batch_size: int = 64) -> list[torch.Tensor]:
    """Per hidden state, an (N, D) matrix of each text's last real token's residual."""
    import torch

    model.eval()
    per_layer: list[list[torch.Tensor]] = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            enc = tok(texts[start : start + batch_size], return_tensors="pt", padding=True)
            out = model(**enc, output_hidden_states=True, return_dict=True)
            last = enc["attention_mask"].sum(dim=1) - 1
            if tok.padding_side == "left":
                last = torch.full_like(last, enc["input_ids"].shape[1] - 1)
            rows = torch.arange(last.numel())
            for layer, hidden in enumerate(out.hidden_states):
                if len(per_layer) <= layer:
                    per_layer.append([])
                per_layer[layer].append(hidden[rows, last].float())
    return [torch.cat(chunks, 0) for chunks in per_layer]


def activation_overlap(states_u: list[torch.Tensor], states_h: list[torch.Tensor], eta: float,
                       centering: bool = False, window: tuple[float, float] = LAYER_WINDOW
                       ) -> list[OverlapRow]:  # fmt: skip
    """MSO between useful and harmful activations per layer in the window."""
    rows = []
    for layer in layer_window(len(states_u), window):
        a_u, a_h = states_u[layer], states_h[layer]
        if centering:
            a_u, a_h = a_u - a_u.mean(0, keepdim=True), a_h - a_h.mean(0, keepdim=True)
        row = matrix_overlap(f"layer{layer}", a_u.T, a_h.T, eta)
        if row is not None:
            rows.append(row)
    return rows


def model_activation_overlap(model, tok, useful: list[str], harmful: list[str], eta: float,
                             centering: bool = False) -> list[OverlapRow]:  # fmt: skip
    """One model's activation MSO between a useful and a harmful prompt set."""
    return activation_overlap(last_token_states(model, tok, useful), last_token_states(model, tok, harmful), eta,
                              centering=centering)  # fmt: skip
