"""r1repro plugin for NOVER: Incentive Training for Language Models via Verifier-Free
Reinforcement Learning (Liu et al., arXiv 2505.16022)."""
