"""The paper preset, as the installed verl composes it, against the official settings table
(r1repro_nover/official.py); the README's "Official vs ours" table is generated from the same table."""

import pytest

from r1repro.verl_bridge import fidelity

pytestmark = pytest.mark.verl


def test_paper_preset_matches_the_official_table_and_readme():
    fidelity.assert_faithful("nover")


def test_one_run_per_sub_dataset_selected_by_subset():
    from r1repro_nover.official import SUBSETS

    readme = fidelity.readme_path("nover").read_text(encoding="utf-8")
    assert all(f"`{key}`" in readme for key in SUBSETS), "the README lists every NOVEReason sub-dataset"
    gt = fidelity.composed_settings("nover", ["subset=gt"])
    assert gt["preset.dataset.csv"] == gt["preset.val_dataset.csv"] == "gt"
    assert gt["trainer.experiment_name"] == "nover-qwen2.5-7b-gt"


def test_a_missing_sub_dataset_is_an_error_not_the_whole_hub_set(monkeypatch, tmp_path):
    from r1repro.components import Dataset, DatasetUnavailable
    from r1repro.registry import get_registry

    monkeypatch.setattr("r1repro_nover.data.data_dirs", lambda: [tmp_path])
    monkeypatch.setattr(Dataset, "records", lambda self, split="train": [
        {"question": "q", "reference": "r", "source_dataset": "other"}])  # fmt: skip
    ds = get_registry().build("dataset", {"name": "nover.novereason", "csv": "gt"})
    with pytest.raises(DatasetUnavailable, match="source_dataset == 'gt'"):
        ds.load("train")
