"""r1repro plugin: StepSearch (arXiv 2505.15107), step-wise PPO rewards for a search agent."""
