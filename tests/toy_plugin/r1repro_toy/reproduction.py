"""A toy reproduction: does RL on single-digit addition beat the SFT start? (for the test suite)"""

from pathlib import Path

from r1repro.repro.base import Reproduction


class ToyReproduction(Reproduction):
    title = "Toy: GRPO on single-digit addition (test plugin)"
    config_dir = str(Path(__file__).parent / "repro")

    def run(self, run):
        run.train_arms()
        for arm in run.arms:
            for seed in run.seeds:
                m = run.measurements
                run.record(
                    "gain_correct", arm, seed, m["final_correct"][arm][seed] - m["initial_correct"][arm][seed]
                )
        run.plot("eval/correct", title="held-out accuracy", ylabel="accuracy")
        run.plot("reward/mean", title="training reward", ylabel="reward")
        run.table(
            "Toy table",
            ["arm", "seeds"],
            [[a, len(run.seeds)] for a in run.arms],
            note="A table plugins add.",
        )
