"""`run_graph`: jobs start after their dependencies, get their results, and run on one thread."""

from __future__ import annotations

import operator

import pytest
import torch

from r1repro.repro.jobs import JOB_THREADS, Job, check_graph, run_graph


def _graph():
    return [
        Job("a", operator.add, (1, 2)),
        Job("b", operator.add, (10, 20)),
        Job("c", operator.mul, (10,), after=("a",)),  # 10 * 3
        Job("d", operator.sub, (), after=("c", "b")),  # 30 - 30
        Job("threads", torch.get_num_threads),
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_dependencies_are_passed_in_order_and_every_job_runs_on_one_thread(workers):
    out = run_graph(_graph(), workers=workers, log=lambda _: None)
    assert out == {"a": 3, "b": 30, "c": 30, "d": 0, "threads": JOB_THREADS}


def test_the_calling_process_keeps_its_thread_count():
    before = torch.get_num_threads()
    run_graph([Job("t", torch.get_num_threads)], workers=1, log=lambda _: None)
    assert torch.get_num_threads() == before


def test_a_dependency_must_be_listed_before_its_job_and_keys_are_unique():
    with pytest.raises(ValueError, match="not listed before"):
        check_graph([Job("c", operator.neg, after=("a",)), Job("a", operator.neg, (1,))])
    with pytest.raises(ValueError, match="twice"):
        check_graph([Job("a", operator.neg, (1,)), Job("a", operator.neg, (2,))])


def test_a_failing_job_raises_its_own_error():
    with pytest.raises(ZeroDivisionError):
        run_graph([Job("x", operator.truediv, (1, 0))], workers=2, log=lambda _: None)
