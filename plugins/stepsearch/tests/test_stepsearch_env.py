"""The search environment, the retrievers, the generated world and the multi-turn rollout."""

from __future__ import annotations

import logging
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from r1repro_stepsearch import constants as C
from r1repro_stepsearch.data import MusiDataset, WorldDataset, make_world
from r1repro_stepsearch.env import SearchEnvironment, parse_action
from r1repro_stepsearch.reward import StepSearchReward, doc_contents

from r1repro.retrieval import BM25Retriever, Doc, HTTPRetriever, RetrievalError, build_retriever, serve_app

DOCS = [Doc("0", "Paris", "Paris is the capital of France."), Doc("1", "Berlin", "Berlin is in Germany."),
        Doc("2", "Rome", "Rome is the capital of Italy.")]  # fmt: skip


def test_bm25_ranks_the_matching_document_first():
    r = BM25Retriever(DOCS)
    (hits,) = r.search(["capital of Italy"], topk=2)
    assert [d.id for d in hits] == ["2", "0"]
    assert len(r.search(["", "zzz"], topk=5)[0]) == 3  # k is capped by the corpus; empty query answers


def test_bm25_index_builds_quietly_under_a_root_handler():
    """bm25s pins its logger at DEBUG; under verl's root handler every index build printed a line."""
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()  # level NOTSET: it takes whatever reaches the root
    handler.emit = seen.append  # type: ignore[method-assign]
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        BM25Retriever(DOCS)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert not [r for r in seen if r.name.startswith("bm25s")]


def test_http_client_speaks_the_official_api():
    class Quiet(WSGIRequestHandler):
        def log_message(self, *a):
            pass

    srv = make_server("127.0.0.1", 0, serve_app(BM25Retriever(DOCS)), handler_class=Quiet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        client = HTTPRetriever(f"http://127.0.0.1:{srv.server_port}/retrieve", timeout_s=5)
        (hits,) = client.search(["Germany"], topk=1)
        assert hits == [DOCS[1]]
    finally:
        srv.shutdown()
    with pytest.raises(RetrievalError, match="failed"):
        HTTPRetriever("http://127.0.0.1:9/retrieve", timeout_s=1).search(["x"])
    with pytest.raises(RetrievalError, match="unknown retriever"):
        build_retriever({"kind": "nope"})


def test_actions_warnings_and_final_turn():
    env = SearchEnvironment(
        corpus=[{"id": d.id, "title": d.title, "text": d.text} for d in DOCS], max_turns=2
    )
    assert parse_action("<plan>x</plan><search> capital of Italy </search>") == ("search", "capital of Italy")
    st = env.reset(None)
    first = env.step(st, "<search> capital of Italy </search>")
    assert first.tool_call and not first.done
    assert first.observation.startswith("\n\n<information> Doc 1<## Title: Rome ##> Rome is the capital")
    assert C.FINAL_WARNING not in first.observation
    bad = env.step(st, "I do not know")  # the last turn: invalid warning + "answer now"
    assert bad.observation == C.INVALID_ACTION_WARNING + C.FINAL_WARNING and not bad.tool_call
    assert env.step(env.reset(None), "<answer> Rome </answer>").done


def test_retriever_errors_are_observations_and_floods_are_capped():
    class Broken:
        def search(self, queries, topk):
            raise RetrievalError("server down")

    env = SearchEnvironment(corpus=[], max_turns=50, max_searches=2)
    env._retriever = Broken()
    st = env.reset(None)
    res = env.step(st, "<search> x </search>")
    assert res.tool_failed and "search failed: RetrievalError" in res.observation
    env._retriever = BM25Retriever(DOCS)
    env.step(st, "<search> " + "Rome " * 10_000 + "</search>")  # a huge query is cut, not sent whole
    capped = env.step(st, "<search> Rome </search>")
    assert capped.tool_failed and "search limit reached" in capped.observation


def test_world_questions_need_successive_searches():
    ds = WorldDataset()
    rows = ds.load("train", limit=40)
    test_people = {r.extra["hop_entities"][0] for r in ds.load("test", limit=40)}
    assert not test_people & {r.extra["hop_entities"][0] for r in rows}  # disjoint people
    assert {r.domain for r in rows} == {"2-hop", "3-hop"}
    env = SearchEnvironment(corpus={"world_seed": 0})
    for row in rows[:10]:
        golds = [d["paragraph_text"] for d in row.extra["support_docs"]]
        assert len(golds) == row.extra["hops"]
        # the question names only the person: the first hop's document is found, the later ones are not
        obs = env.step(
            env.reset(row), f"<search> {row.ground_truth['search_keys'][0][1]} </search>"
        ).observation
        found = doc_contents(obs.split("<information>")[1].split("</information>")[0])
        assert golds[0] in found[0] and not any(golds[1] in d for d in found)
        assert row.ground_truth["target"][0] not in row.problem
    world = make_world(0)
    assert len(world.docs) > 3 * len(world.people)  # distractors share each entity's name
    assert len(set(world.people)) == len(world.people) >= 1000


def test_every_hops_key_phrase_ranks_its_fact_document_first():
    """The worked trajectories search "<person> works for", "<company> city", "<city> country":
    for every entity of the world BM25 must put the fact document first (a bare name ties it with
    the entity's distractors; a name pair in reverse order would tie it with another person's)."""
    world = make_world(0)
    env = SearchEnvironment(corpus={"world_seed": 0}, topk=1)
    queries = [(f"{p} works for", ("employer", p)) for p in world.people]
    queries += [(f"{c} city", ("seat", c)) for c in world.seat]
    queries += [(f"{c} country", ("country", c)) for c in world.country]
    (hits,) = zip(*[env.retriever.search([q], 1) for q, _ in queries])
    assert [h[0] for h in hits] == [world.fact_doc[k] for _, k in queries]
    firsts_lasts = {tuple(p.split()) for p in world.people}
    assert not {(b, a) for a, b in firsts_lasts} & firsts_lasts


def test_an_environment_built_from_an_engine_config_searches():
    """The engine builds the environment from an OmegaConf config: ``corpus`` is a DictConfig,
    and every search of a run used to fail on it ("search failed: AttributeError")."""
    from r1repro.engine.config import make_config
    from r1repro.registry import get_registry

    cfg = make_config(
        {"rollout": {"environment": {"name": "stepsearch.search", "corpus": {"world_seed": 0}, "topk": 2}}}
    )
    env = get_registry().build("environment", cfg.rollout.environment)
    person = make_world(0).people[0]
    res = env.step(env.reset(None), f"<search> {person} works for </search>")
    assert not res.tool_failed and f"Doc 1<## Title: {person} ##> {person} works for" in res.observation


def test_world_solution_segments_mask_observations_and_read_only_what_was_shown():
    """SFT segments: the model's turns are trained, the observations are not; every entity a query
    or the answer names is in the question or an earlier observation."""
    ds = WorldDataset(three_hop_share=0.5, topk=2)
    for row in ds.load("sft", limit=40):
        segs = ds.solution(row, None)
        assert [m for _, m in segs] == [True, False] * row.extra["hops"] + [True]
        seen = row.problem
        for text, trained in segs:
            if trained:
                kind, content = parse_action(text)
                assert kind in ("search", "answer") and text == f"<{kind}> {content} </{kind}>"
                named = content.removesuffix(" works for").removesuffix(" city").removesuffix(" country")
                assert named in seen
            else:
                assert text.startswith("\n\n<information> Doc 1<## Title: ")
                seen += text


def test_world_solution_scores_full_marks():
    ds, reward = WorldDataset(), StepSearchReward()
    row = ds.load("train", limit=1)[0]
    text = "".join(t for t, _ in ds.solution(row, None))
    from r1repro.types import Sample

    (res,) = reward([Sample(response=text, ground_truth=row.ground_truth, extra=row.extra)])
    assert (
        res.info["em"] == 1.0 and res.info["search_key_score"] == 1.0
    )  # < 1 IG: the "\\nDoc k" suffix quirk
    assert res.info["information_gain"] > 0.8 and res.info["redundancy_rate"] < 1.0


def test_musi_adapter_rows_and_offline_error(monkeypatch, tmp_path):
    train, test = MusiDataset().fixture()
    assert train.ground_truth["target"] == ["Henry Ford", "Ford"] and train.problem.endswith("?")
    assert len(train.ground_truth["search_keys"]) == 2 and len(train.extra["support_docs"]) == 2
    assert test.ground_truth["search_keys"] == [] and test.extra["support_docs"] == []
    monkeypatch.setenv("R1REPRO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from r1repro.components import DatasetUnavailable

    with pytest.raises(DatasetUnavailable, match="Zill1/StepSearch-musi-dataset"):
        MusiDataset().load("train")


class ScriptedContext:
    """A RolloutContext whose policy writes scripted turns (no model), to test the loop itself."""

    def __init__(self, script):
        from r1repro_stepsearch.templates import CPUTemplate

        from r1repro.engine.generation import Generation
        from r1repro.engine.rollout import RolloutContext
        from r1repro.models.tiny import load_tokenizer

        self.script, self.calls, self.Generation = list(script), [], Generation
        self.ctx = RolloutContext(model=None, tokenizer=load_tokenizer(), template=CPUTemplate(),
                                  max_new_tokens=4000, environment=SearchEnvironment(corpus={"world_seed": 0}, max_turns=2))  # fmt: skip
        self.ctx.generate = self.generate

    def generate(self, prompts, *, forced=None, stop_strings=(), max_new_tokens=None, temperature=None, keys=None):
        self.calls.append(list(stop_strings))
        text = self.script.pop(0)
        if text.endswith("<EOS>"):  # the policy ends its turn with the end-of-text token
            toks = self.ctx.encode(text[: -len("<EOS>")]) + [self.ctx.tokenizer.eos_token_id]
            return self.Generation([toks] * len(prompts), ["eos"] * len(prompts))
        toks = self.ctx.encode(text)
        return self.Generation([toks] * len(prompts), ["stop"] * len(prompts))


def test_multi_turn_rollout_masks_observations_and_places_step_rewards():
    from r1repro.engine.rollout import MultiTurn

    row = WorldDataset().load("train", limit=1)[0]
    person, company = row.extra["hop_entities"][:2]
    sc = ScriptedContext([f"<search> {person} </search>", f"<search> {company} </search>",
                          f"<answer> {row.ground_truth['target'][0]} </answer>"])  # fmt: skip
    (t,) = MultiTurn().rollout(sc.ctx, [row], 1)
    assert sc.calls == [list(C.STOP_STRINGS)] * 3  # max_turns = 2, then the forced final turn
    assert [k for _, _, k in t.spans] == ["policy", "observation", "policy", "observation", "policy"]
    for s, e, kind in t.spans:  # observation tokens carry loss mask 0, the model's tokens 1
        assert set(t.loss_mask[s:e]) == {int(kind == "policy")}
    obs2 = t.meta["turns"][1]["observation"]
    assert obs2.endswith(C.FINAL_WARNING) and "<information>" in obs2
    assert t.tool_calls == 2 and t.meta["turns"][2]["observation"] == ""
    (res,) = StepSearchReward()([t.to_sample()])
    ends = [e for (e, _) in res.token_rewards]
    assert [sc.ctx.decode([t.response_ids[e]]) for e in ends] == ["</search>", "</search>"]
    assert all(t.loss_mask[e] == 1 for e in ends) and res.info["em"] == 1.0


def test_search_tool_is_a_verl_base_tool(tmp_path):
    import asyncio

    import yaml
    from r1repro_stepsearch.tool import SCHEMA, SearchTool, write_tool_config
    from verl.tools.base_tool import BaseTool

    path = write_tool_config(tmp_path / "tools.yaml", {"kind": "bm25"}, topk=2, max_searches=1)
    spec = yaml.safe_load(path.read_text())["tools"][0]
    assert spec["class_name"] == "r1repro_stepsearch.tool.SearchTool"
    from verl.tools.schemas import OpenAIFunctionToolSchema

    tool = SearchTool(
        {**spec["config"], "corpus": {"world_seed": 0}}, OpenAIFunctionToolSchema.model_validate(SCHEMA)
    )
    assert isinstance(tool, BaseTool)
    person = make_world(0).people[0]

    async def episode():
        iid, _ = await tool.create()
        first = await tool.execute(iid, {"query": person})
        flood = await tool.execute(iid, {"query": person})
        empty = await tool.execute(iid, {})
        await tool.release(iid)
        return first, flood, empty

    (resp, reward, m), (flood, _, fm), (_, _, em) = asyncio.run(episode())
    assert (
        resp.text.startswith("\n\n<information> Doc 1<## Title: ")
        and person in resp.text
        and m["tool_failed"] == 0
    )
    assert "search limit reached" in flood.text and fm["tool_failed"] == 1.0 and em["tool_failed"] == 1.0


def test_an_eos_without_an_action_gets_the_invalid_action_warning():
    from r1repro.engine.rollout import MultiTurn

    row = WorldDataset().load("train", limit=1)[0]
    sc = ScriptedContext(["I am not sure<EOS>", "<answer> x </answer>"])
    (t,) = MultiTurn().rollout(sc.ctx, [row], 1)
    first = t.meta["turns"][0]
    assert first["policy"] == "I am not sure" and first["observation"] == C.INVALID_ACTION_WARNING
    assert sc.ctx.tokenizer.eos_token_id not in t.response_ids  # dropped, as the official decode does
    assert t.meta["turns"][1]["policy"] == "<answer> x </answer>"


def test_text_positions_match_the_rollouts_exact_positions():
    from r1repro_stepsearch.reward import step_positions_from_text

    from r1repro.engine.rollout import MultiTurn

    row = WorldDataset().load("train", limit=1)[0]
    person, company = row.extra["hop_entities"][:2]
    sc = ScriptedContext(
        [f"<search> {person} </search>", f"<search> {company} </search>", "<answer> x </answer>"]
    )
    (t,) = MultiTurn().rollout(sc.ctx, [row], 1)
    exact = [r["end"] for r in t.meta["turns"] if "</search>" in r["policy"]]
    assert step_positions_from_text(t.response_text, sc.ctx.tokenizer) == exact
