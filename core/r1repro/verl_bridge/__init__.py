"""The paper-scale path: r1repro components inside verl (``python -m verl.trainer.main_ppo``).

- `export`      rows -> verl's parquet schema (read back by verl's ``RLHFDataset``)
- `reward`      ``compute_score`` for verl's ``reward.custom_reward_function`` (any r1repro reward)
- `worker_init` imported by verl in every process (``verl.plugins`` entry point): loads
                plugins, registers estimators / policy losses / the r1repro trainer
- `config`      compose verl's hydra config from the installed verl's own config tree plus a
                paper preset, and validate it the way verl does
- `trainer`     ``r1repro_sync``: verl's sync v1 trainer plus the group stage of group-aware
                rewards and ``side_info`` for estimators that need it
- `launch`      export, compose, validate, print (``DRY_RUN=1``) or run the verl command

Importing this package imports no verl; each module imports verl when it is used.
"""
