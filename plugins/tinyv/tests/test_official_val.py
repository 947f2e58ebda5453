"""TinyV's official validation set: the five math benchmarks (scored by Prime alone, as the fork
routes by data source) plus HardVerify-Math (TinyV), with a clear error when offline."""

import pytest
from r1repro_tinyv.data import BENCHMARK_SIZES, MATH_BENCHMARKS_FILE

from r1repro.components import DatasetUnavailable
from r1repro.registry import get_registry
from r1repro.types import Sample


def _write_official_like_parquet(path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    suffix = " Let's think step by step and output the final answer within \\boxed{}."
    rows = [{"data_source": src, "prompt": [{"role": "user", "content": f"Q{i}?{suffix}"}], "ability": "math",
             "reward_model": {"ground_truth": str(i), "style": "rule"}, "extra_info": {"index": i, "split": "test"}}
            for i, src in enumerate(BENCHMARK_SIZES)]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def test_offline_without_the_file_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("R1REPRO_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("r1repro_tinyv.data.data_dirs", lambda: [tmp_path])
    with pytest.raises(DatasetUnavailable, match="math_benchmarks_aammo.parquet"):
        get_registry().build("dataset", "tinyv.math_benchmarks").load("test")


def test_the_official_file_is_read_with_the_forks_data_sources(monkeypatch, tmp_path):
    _write_official_like_parquet(tmp_path / MATH_BENCHMARKS_FILE)
    monkeypatch.setattr("r1repro_tinyv.data.data_dirs", lambda: [tmp_path])
    rows = get_registry().build("dataset", "tinyv.math_benchmarks").load("test")
    assert [r.data_source for r in rows] == list(BENCHMARK_SIZES)
    assert rows[0].problem == "Q0?" and rows[0].ground_truth == "0"  # the instruction comes from the template


def test_benchmarks_are_scored_by_prime_and_hardverify_by_tinyv():
    reward = get_registry().build("reward", {
        "name": "tinyv.addon", "route_by_data_source": True,
        "judge": {"backend": "stub", "fn": "r1repro_tinyv.reward:stub_says_true_for_seven"}})  # fmt: skip
    wrong = "The answer is \\boxed{7}."
    aime, hard = reward([Sample(response=wrong, ground_truth="5", data_source="AIME", problem="q"),
                         Sample(response=wrong, ground_truth="5", data_source="zhangchenxu/HardVerify-Math",
                                problem="q")])  # fmt: skip
    assert aime.score == 0.0 and not aime.info["llm_called"]  # Prime says wrong; TinyV is never asked
    assert hard.score == 1.0 and hard.info["llm_called"]  # the stub TinyV accepts 7
