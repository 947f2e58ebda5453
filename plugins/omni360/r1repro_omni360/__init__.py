"""360-R1 (arXiv 2505.14197): reasoning / answer similarity and format rewards on ERP panoramas."""
