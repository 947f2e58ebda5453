"""r1repro plugin for LASER (Liu et al., "Learn to Reason Efficiently with Adaptive Length-based Reward Shaping", arXiv 2505.15612)."""
