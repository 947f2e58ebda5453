"""``python -m r1repro_safety_subspaces``: see `r1repro_safety_subspaces.cli`."""

from r1repro_safety_subspaces.cli import main

raise SystemExit(main())
