"""AvatarShield (arXiv 2505.15173): accuracy + format + temporal-compensation rewards, frame shuffling, residual stream."""
