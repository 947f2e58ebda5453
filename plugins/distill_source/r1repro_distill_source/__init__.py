"""r1repro plugin for "Not All Correct Answers Are Equal: Why Your Distillation Source Matters"
(arXiv 2505.14464, a-m-team): a data study. `stats` is the dataset-statistics component any
plugin can call; `data` loads the released AM distilled sets."""
