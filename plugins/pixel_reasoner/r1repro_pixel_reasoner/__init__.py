"""Pixel Reasoner (arXiv 2505.15966) for r1repro: visual-operation tools, curiosity reward, zoom task."""
