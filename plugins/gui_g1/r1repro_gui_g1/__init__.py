"""GUI-G1 (arXiv 2505.15810): hit / IoU / box-size rewards, A = w(r - mean), token-sum / 64."""
