"""r1repro: paper reproductions for RL of LLM reasoning, as pluggy plugins on verl."""

__version__ = "0.1.0"
from r1repro.hookspecs import hookimpl  # noqa: F401
from r1repro.registry import build, get_registry, lazy, load_plugins  # noqa: F401
