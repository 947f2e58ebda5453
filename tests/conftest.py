"""Shared test set-up: quiet progress bars, a throwaway runs/ folder, the shared model cache."""

import os

os.environ.setdefault("R1REPRO_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _runs_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("R1REPRO_RUNS", str(tmp_path_factory.getbasetemp() / "runs"))


@pytest.fixture(scope="session")
def registry():
    from r1repro.registry import load_plugins

    return load_plugins()
