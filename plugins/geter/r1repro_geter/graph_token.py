"""The graph soft token of GETER (arXiv 2505.15245, §3.2; carryTatum/GETER).

* **Structure encoder.** The paper trains RE-GCN (via KGMH) on the quads for entity and relation
  embeddings. Ours, at CPU scale, is a simpler relational encoder: DistMult scores
  ``<e_s, r, e_o>`` trained on the quads with sampled-object negatives (`train_encoder`).
* **Graph vector** (``getGraph.py::get_graph_embbding``): the mean over the query triple and the
  subgraph quads of ``concat(e_s, r, e_o)`` (3·d wide; 1536 = 3 x 512 in the release).
* **Projector** (``llm_arch/RankLLamaMeta.py::build_graph_projector``): one ``nn.Linear`` from 3·d to
  the LM hidden size; its output is **one** soft token prepended to the input embeddings, with
  label -100 and attention 1 (``prepare_inputs_labels_for_multimodal``, lines 43-80).
* **Trainable parts:** the projector plus LoRA on all attention and MLP projections
  (``config/lora_config_llama.json``: r 16, alpha 32, dropout 0.05, q/k/v/o/gate/up/down); see
  `LORA_PAPER` and `lora_model`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

IGNORE_INDEX = -100
LORA_PAPER = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05,
              "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "down_proj", "gate_proj", "up_proj"]}  # fmt: skip
"""``config/lora_config_llama.json`` of the release."""


class RelationalEncoder(nn.Module):
    """Entity and relation embeddings scored with DistMult (our stand-in for RE-GCN)."""

    def __init__(self, num_entities: int, num_relations: int, dim: int = 32, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.ent = nn.Parameter(torch.randn(num_entities, dim, generator=g) * 0.1)
        self.rel = nn.Parameter(torch.randn(num_relations, dim, generator=g) * 0.1)

    def score(self, s: torch.Tensor, r: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
        return (self.ent[s] * self.rel[r] * self.ent[o]).sum(-1)


def train_encoder(quads: Sequence[Sequence[int]], num_entities: int, num_relations: int, dim: int = 32,
                  epochs: int = 30, lr: float = 0.05, seed: int = 0) -> RelationalEncoder:  # fmt: skip
    """Fit the encoder on the quads: logistic loss, one random-object negative per quad."""
    enc = RelationalEncoder(num_entities, num_relations, dim, seed)
    data = torch.tensor([list(q[:3]) for q in quads], dtype=torch.long)
    opt = torch.optim.Adam(enc.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        neg_o = torch.randint(0, num_entities, (len(data),), generator=g)
        pos = enc.score(data[:, 0], data[:, 1], data[:, 2])
        neg = enc.score(data[:, 0], data[:, 1], neg_o)
        loss = nn.functional.softplus(-pos).mean() + nn.functional.softplus(neg).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return enc


def graph_vector(ent: torch.Tensor, rel: torch.Tensor, query: Sequence[int],
                 subgraph: Sequence[Sequence[int]]) -> torch.Tensor:  # fmt: skip
    """Mean over the query and subgraph triples of concat(e_s, r, e_o) (``getGraph.py``)."""
    triples = [list(query[:3])] + [list(q[:3]) for q in subgraph]
    idx = torch.tensor(triples, dtype=torch.long)
    return torch.cat([ent[idx[:, 0]], rel[idx[:, 1]], ent[idx[:, 2]]], dim=-1).mean(dim=0)


class GraphTokenLM(nn.Module):
    """A causal LM with one projected graph token in front of its input embeddings."""

    def __init__(self, lm: nn.Module, graph_dim: int) -> None:
        super().__init__()
        self.lm = lm
        self.projector = nn.Linear(graph_dim, lm.config.hidden_size)

    def prepend(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, graph: torch.Tensor,
                labels: torch.Tensor | None = None):  # fmt: skip
        """(inputs_embeds, attention_mask, labels) with the soft token at position 0."""
        embeds = self.lm.get_input_embeddings()(input_ids)
        token = self.projector(graph.to(embeds.dtype)).unsqueeze(1)  # (batch, 1, hidden)
        embeds = torch.cat([token, embeds], dim=1)
        ones = torch.ones((input_ids.shape[0], 1), dtype=attention_mask.dtype)
        mask = torch.cat([ones, attention_mask], dim=1)
        if labels is not None:
            pad = torch.full((input_ids.shape[0], 1), IGNORE_INDEX, dtype=labels.dtype)
            labels = torch.cat([pad, labels], dim=1)
        return embeds, mask, labels

    def forward(self, input_ids, attention_mask, graph, labels=None):
        embeds, mask, labels = self.prepend(input_ids, attention_mask, graph, labels)
        return self.lm(inputs_embeds=embeds, attention_mask=mask, labels=labels)

    @torch.no_grad()
    def generate(self, input_ids, attention_mask, graph, max_new_tokens: int = 32, eos_id: int | None = None):
        """Greedy decoding from the soft-token-prefixed prompt (single sequence, no cache)."""
        embeds, mask, _ = self.prepend(input_ids, attention_mask, graph)
        out: list[int] = []
        emb_layer = self.lm.get_input_embeddings()
        for _ in range(max_new_tokens):
            logits = self.lm(inputs_embeds=embeds, attention_mask=mask).logits[:, -1]
            nxt = int(logits.argmax(-1)[0])
            if eos_id is not None and nxt == eos_id:
                break
            out.append(nxt)
            embeds = torch.cat([embeds, emb_layer(torch.tensor([[nxt]]))], dim=1)
            mask = torch.cat([mask, torch.ones((1, 1), dtype=mask.dtype)], dim=1)
        return out


def lora_model(lm: nn.Module, r: int = LORA_PAPER["r"], alpha: int = LORA_PAPER["lora_alpha"],
               dropout: float = LORA_PAPER["lora_dropout"], target_modules: Sequence[str] | None = None):  # fmt: skip
    """Wrap ``lm`` with peft LoRA (the paper's r16 / alpha 32 / dropout 0.05 on every projection)."""
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, task_type="CAUSAL_LM",
                     target_modules=list(target_modules or LORA_PAPER["target_modules"]))  # fmt: skip
    return get_peft_model(lm, cfg)
