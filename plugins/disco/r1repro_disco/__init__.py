"""r1repro plugin for DISCO (Zhou et al., "DISCO Balances the Scales: Adaptive Domain- and Difficulty-Aware Reinforcement Learning on Imbalanced Data", arXiv 2505.15074)."""
