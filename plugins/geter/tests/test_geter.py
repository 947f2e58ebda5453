"""Golden tests for GETER: the ETR generator (BFS window, swapped-object negatives, labels), the
metrics, the RL-port reward, and the graph soft token (pooling, projector, label masking, LoRA)."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from r1repro_geter.data import ETRTask, bfs_chains, verbalise
from r1repro_geter.graph_token import (
    IGNORE_INDEX,
    LORA_PAPER,
    GraphTokenLM,
    graph_vector,
    lora_model,
    train_encoder,
)
from r1repro_geter.reward import bleu4, label_metrics, rouge_l, sentence_bleu4
from r1repro_geter.templates import INSTRUCTION, SPLIT_POINT, ETRTemplate, parse_label

from r1repro.registry import load_plugins
from r1repro.types import Sample


def test_bfs_respects_the_window_and_time_order():
    quads = [(0, 0, 1, 5), (1, 1, 2, 6), (1, 1, 2, 4), (0, 2, 2, 9), (0, 3, 2, 2)]
    chains = bfs_chains(quads, 0, 2, t_q=9, window=5)  # window [4, 9)
    assert chains == [
        [(0, 0, 1, 5), (1, 1, 2, 6)]
    ]  # (1,1,2,4) is before its predecessor; day 9 and 2 outside
    assert bfs_chains(quads, 0, 2, t_q=10, window=5)[0] == [(0, 2, 2, 9)]  # one hop found first
    assert bfs_chains(quads, 0, 2, t_q=9, window=5, max_hops=1) == []
    assert verbalise((0, 0, 1, 5)) == "On day 5, Iran consulted Iraq."


def test_generated_instances_are_balanced_and_consistent():
    ds = ETRTask()
    rows = ds.load("test")
    assert Counter(r.ground_truth for r in rows) == {"yes": 50, "no": 50, "unsure": 50}
    for r in rows:
        q = r.extra["query"]
        assert all(q[3] - ds.window <= g[3] < q[3] for g in r.extra["subgraph"])  # evidence in the window
        if r.ground_truth == "unsure":
            assert r.extra["subgraph"] == [] and r.extra["explanation"].startswith("Unsure")
        else:
            assert r.extra["subgraph"], r.id  # yes: chain to o; no: chain to the swapped-out object
        if r.ground_truth == "no":
            assert not any(g[2] == q[2] for g in r.extra["subgraph"])  # the queried object is not reached
    assert ds.load("test") == rows


def test_metrics():
    assert rouge_l("a b c d", "a b c d") == 1.0 and rouge_l("x", "a b") == 0.0
    assert rouge_l("a x b y", "a b") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert bleu4(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(1.0)
    assert bleu4(["the cat"], ["the cat sat on the mat"]) == 0.0  # no 4-gram, unsmoothed
    assert 0.0 < sentence_bleu4("the cat sat on a mat", "the cat sat on the mat") < 1.0
    short = bleu4(["the cat sat on the"], ["the cat sat on the mat"])
    assert short == pytest.approx(__import__("math").exp(1 - 6 / 5))  # brevity penalty only
    m = label_metrics(["yes", "no", None, "unsure"], ["yes", "no", "unsure", "no"])
    assert m["accuracy"] == 0.5 and 0 < m["macro_f1"] < 1


def test_template_and_reward(reg=None):
    reg = load_plugins()
    assert (
        INSTRUCTION.endswith(SPLIT_POINT)
        and SPLIT_POINT == "Please answer yes, no, or unsure then explain your decision."
    )
    row = ETRTask().load("test", limit=1)[0]
    msgs = ETRTemplate().render(row)
    assert msgs[0] == {"role": "system", "content": INSTRUCTION} and msgs[1]["content"] == row.problem
    assert parse_label("Yes. Because ...") == "yes" and parse_label("  unsure, no chain") == "unsure"
    assert parse_label("Maybe") is None
    reward = reg.build("reward", "geter.reward")
    gt = {"label": "yes", "explanation": "Yes. Japan is likely to threaten India."}
    got = reward([Sample(response="Yes. Japan is likely to threaten India.", ground_truth=gt),
                  Sample(response="No. Japan is likely to threaten India.", ground_truth=gt),
                  Sample(response="yes", ground_truth="yes")])  # fmt: skip
    assert got[0].score == pytest.approx(1.5) and got[1].score < 0.5 and got[2].score == 1.0


def test_graph_vector_is_the_mean_of_concatenated_triples():
    ent, rel = torch.arange(12.0).reshape(6, 2), torch.arange(100.0, 106.0).reshape(3, 2)
    v = graph_vector(ent, rel, [0, 1, 2, 9], [[3, 0, 4, 7]])
    expected = (torch.cat([ent[0], rel[1], ent[2]]) + torch.cat([ent[3], rel[0], ent[4]])) / 2
    assert v.shape == (6,) and torch.equal(v, expected)


def _tiny_lm():
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                      num_key_value_heads=1, intermediate_size=32, max_position_embeddings=64)  # fmt: skip
    return Qwen2ForCausalLM(cfg)


def test_soft_token_is_prepended_with_label_minus_100():
    model = GraphTokenLM(_tiny_lm(), graph_dim=6)
    ids, mask = torch.tensor([[5, 6, 7]]), torch.ones((1, 3), dtype=torch.long)
    labels = torch.tensor([[IGNORE_INDEX, 6, 7]])
    graph = torch.randn(1, 6)
    embeds, m2, l2 = model.prepend(ids, mask, graph, labels)
    assert embeds.shape == (1, 4, 16) and m2.tolist() == [[1, 1, 1, 1]]
    assert l2.tolist() == [[IGNORE_INDEX, IGNORE_INDEX, 6, 7]]
    assert torch.allclose(embeds[0, 0], model.projector(graph)[0])
    loss = model(ids, mask, graph, labels).loss
    loss.backward()
    assert model.projector.weight.grad is not None and model.projector.weight.grad.abs().sum() > 0
    assert len(model.generate(ids, mask, graph, max_new_tokens=3)) == 3


def test_encoder_learns_the_quads_and_lora_matches_the_paper():
    ds = ETRTask()
    kg = ds.kg(0)
    enc = train_encoder(kg.quads, kg.num_entities, kg.num_relations, dim=8, epochs=40)
    q = torch.tensor([list(x[:3]) for x in kg.quads[:200]])
    pos = enc.score(q[:, 0], q[:, 1], q[:, 2]).mean()
    neg = enc.score(q[:, 0], q[:, 1], (q[:, 2] + 5) % kg.num_entities).mean()
    assert pos > neg
    assert (LORA_PAPER["r"], LORA_PAPER["lora_alpha"], LORA_PAPER["lora_dropout"]) == (16, 32, 0.05)
    peft_model = lora_model(_tiny_lm())
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert {m for m in LORA_PAPER["target_modules"] if any(f".{m}." in n for n in trainable)} == set(
        LORA_PAPER["target_modules"]
    )


def test_components_are_registered():
    reg = load_plugins()
    for kind, name in [("reward", "geter.reward"), ("template", "geter.etr"), ("dataset", "geter.etr")]:
        assert name in reg.names(kind), (kind, name)


@pytest.mark.slow
def test_tiny_reproduction_records_both_arms(tmp_path):
    """Two optimisation steps of tiny:nano per arm, three test rows: the pipeline runs end to end."""
    from r1repro.repro.claims import load_claims
    from r1repro.repro.run import ReproRun, compose_config, judge_all

    reg = load_plugins()
    repro = reg.build("reproduction", "geter")
    cfg_dir = repro.resolve_config_dir()
    cfg = compose_config(cfg_dir, "cpu", ["seeds=[0,1]", "geter.model=tiny:nano", "geter.train_examples=9",
                                          "geter.eval_limit=3", "geter.steps=2", "geter.batch_size=2",
                                          "geter.max_new_tokens=4", "geter.max_prompt_length=64"])  # fmt: skip
    run = ReproRun(
        name="geter", scale="cpu", cfg=cfg, out_dir=tmp_path, reproduction=repro, registry=reg, quiet=True
    )
    repro.run(run)
    for metric in ("label_accuracy", "rouge_l", "bleu4", "label_macro_f1"):
        assert set(run.measurements[metric]) == {"graph", "text"}
    assert len(run.items["label_accuracy"]["graph"][0]) == 3
    _, claims = load_claims(cfg_dir / "claims.yaml")
    assert len(judge_all(run, claims)) == 2
