"""r1repro plugin for hgpo."""
