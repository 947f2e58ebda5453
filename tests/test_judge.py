"""The LLM-judge client: stub, local transformers model, OpenAI-compatible server (on loopback)."""

from r1repro.judge import OpenAIJudge, build_judge
from r1repro.testing import loopback_json_server


def test_stub_judge_and_stats():
    j = build_judge({"backend": "stub", "fn": lambda p: "True" if "7" in p else "False"})
    assert j.complete(["is 7 ok", [{"role": "user", "content": "6?"}]]) == ["True", "False"]
    assert j.stats.calls == 1 and j.stats.prompts == 2


def test_transformers_judge_generates_with_a_tiny_model():
    j = build_judge({"backend": "transformers", "model": "tiny:nano", "max_tokens": 3})
    out = j.complete(["Is this right?", [{"role": "user", "content": "x"}]])
    assert len(out) == 2 and all(isinstance(o, str) for o in out)


def test_transformers_judge_fast_path_gives_the_same_greedy_replies():
    prompts = [f"Is {i} + {i} = {2 * i}? Answer:" for i in range(6)] + ["x" * 40]
    fast = build_judge({"backend": "transformers", "model": "tiny:nano", "fast": True})
    slow = build_judge({"backend": "transformers", "model": "tiny:nano", "fast": False})
    assert fast.complete(prompts, max_tokens=6) == slow.complete(prompts, max_tokens=6)


def _openai_reply(calls: list[str]):
    def reply(path: str, body: dict):
        calls.append(path)
        if len(calls) == 1:  # first request fails: the client must retry
            return 500, None
        if path.endswith("/chat/completions"):
            text = "True" if "7" in body["messages"][-1]["content"] else "False"
            return 200, {"choices": [{"message": {"content": text}}]}
        return 200, {"choices": [{"text": "raw:" + body["prompt"][:5]}]}

    return reply


def test_openai_judge_against_a_loopback_server_with_retry_and_failures():
    with loopback_json_server(_openai_reply([])) as url:
        j = OpenAIJudge(
            model="m",
            base_url=f"{url}/v1",
            max_retries=2,
            concurrency=1,
            timeout_s=5,
        )
        out = j.complete(
            [[{"role": "user", "content": "7"}], [{"role": "user", "content": "6"}], "hello world"]
        )
        assert out == ["True", "False", "raw:hello"]
        dead = OpenAIJudge(model="m", base_url="http://127.0.0.1:9/v1", max_retries=1, timeout_s=1)
        assert dead.complete([[{"role": "user", "content": "x"}]]) == [""]  # never raises
        assert dead.stats.failures == 1


def test_check_loads_the_model_outside_the_per_prompt_deadline():
    """A judge whose model is made on first use (the tiny TinyV trains its verifier) may take
    longer to load than one answer may take; `check` must not time that out, and a loader
    that fails is one clear `JudgeUnavailable` line."""
    import time

    import pytest

    from r1repro.judge import Judge, JudgeUnavailable

    class Slow(Judge):
        loaded = False

        def load(self):
            time.sleep(1.5)
            self.loaded = True

        def _complete(self, prompts, max_tokens, temperature):
            if not self.loaded:  # lazy, as the transformers back-end loads on first use
                self.load()
            return ["True"] * len(prompts)

    Slow(timeout_s=1).check()  # 1.5 s of loading under a 1 s per-prompt deadline

    class Broken(Slow):
        def load(self):
            raise FileNotFoundError("no verifier folder\nsecond line")

    why = r"could not be loaded: .*FileNotFoundError: no verifier folder$"  # one line, the first
    with pytest.raises(JudgeUnavailable, match=why):
        Broken().check()
