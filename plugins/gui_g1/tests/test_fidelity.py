"""The paper preset, as the installed verl composes it, against the official settings table
(r1repro_gui_g1/official.py); the README's "Official vs ours" table is generated from the same table."""

import pytest

from r1repro.verl_bridge import fidelity

pytestmark = pytest.mark.verl


def test_paper_preset_matches_the_official_table_and_readme():
    fidelity.assert_faithful("gui_g1")
