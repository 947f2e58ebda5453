"""r1repro plugin for pPE: Prior Prompt Engineering for Reinforcement Fine-Tuning (arXiv 2505.14157)."""
