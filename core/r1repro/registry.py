"""Plugin discovery and the component registry.

Plugins are found through the ``r1repro`` entry-point group (and, for quick experiments,
the comma-separated module list in ``$R1REPRO_PLUGINS``). Each plugin module is registered
with a pluggy ``PluginManager``; then every hook implementation is called *on its own*, so
a plugin that fails to import, raises in a hook, or registers a name another plugin
already owns is reported by name while every other plugin keeps working.

Components are looked up by kind and dotted name (``registry.build("reward",
"tinyv.addon")``). An unknown name suggests close matches; a duplicated name names both
plugins. Lookups are lazy: ``lazy("pkg.mod:Attr", ...)`` references are imported only when
a component is first used, so discovery stays well under a second.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import os
import threading
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from r1repro.hookspecs import KINDS, PROJECT, R1ReproSpec

ENTRY_POINT_GROUP = PROJECT
BUILTIN_PLUGIN = "core"


class RegistryError(LookupError):
    """Base class of the registry's errors: each message says what to do next."""


class UnknownComponentError(RegistryError):
    pass


class DuplicateComponentError(RegistryError):
    pass


class ComponentLoadError(RegistryError):
    pass


@dataclass
class Lazy:
    """A reference to a component that is imported only when first used."""

    target: str
    name: str
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)

    def resolve(self) -> Any:
        module_name, _, attr = self.target.partition(":")
        obj = importlib.import_module(module_name)
        for part in attr.split(".") if attr else []:
            obj = getattr(obj, part)
        return obj


def lazy(target: str, name: str, description: str = "", **defaults: Any) -> Lazy:
    """Refer to ``"package.module:Attribute"`` under ``name`` without importing it now.

    Keyword ``defaults`` are passed to the component when it is built, so one class can be
    registered several times under different names (``tinyv.addon``, ``tinyv.mixed``).
    """
    return Lazy(target=target, name=name, description=description, defaults=defaults)


@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str = ""
    version: str = ""


@dataclass
class PluginError:
    plugin: str
    stage: str
    message: str
    detail: str = ""

    def __str__(self) -> str:
        return f"plugin '{self.plugin}' ({self.stage}): {self.message}"


@dataclass
class Entry:
    kind: str
    name: str
    plugin: str
    obj: Any
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    _loaded: Any = None

    def load(self) -> Any:
        """The component itself (importing a lazy reference on first use)."""
        if self._loaded is None:
            if isinstance(self.obj, Lazy):
                try:
                    self._loaded = self.obj.resolve()
                except Exception as exc:  # noqa: BLE001 - report any import failure by name
                    raise ComponentLoadError(
                        f"{self.kind} '{self.name}' from plugin '{self.plugin}' could not be imported "
                        f"({self.obj.target}): {type(exc).__name__}: {exc}"
                    ) from exc
            else:
                self._loaded = self.obj
        return self._loaded


def _component_name(obj: Any) -> str | None:
    if isinstance(obj, Lazy):
        return obj.name
    name = getattr(obj, "name", None) or getattr(obj, "r1repro_name", None)
    return name if isinstance(name, str) and name else None


def _description(obj: Any) -> str:
    if isinstance(obj, Lazy):
        return obj.description
    desc = getattr(obj, "description", "") or ""
    if not desc and getattr(obj, "__doc__", None):
        desc = inspect.cleandoc(obj.__doc__).split("\n\n")[0].replace("\n", " ")
    return desc if isinstance(desc, str) else ""


class Registry:
    """All components of all loaded plugins, by kind and name."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(R1ReproSpec)
        self.entries: dict[str, dict[str, Entry]] = {k: {} for k in KINDS}
        self.duplicates: dict[tuple[str, str], list[str]] = {}
        self.errors: list[PluginError] = []
        self.plugins: dict[str, PluginInfo] = {}

    # -- loading ---------------------------------------------------------------------
    def add_plugin(self, module_or_obj: Any, name: str, distribution: str = "", version: str = "") -> bool:
        """Register one plugin object (usually a module of hookimpls) and collect its components."""
        try:
            self.pm.register(module_or_obj, name=name)
            self.pm.check_pending()
        except Exception as exc:  # noqa: BLE001
            if self.pm.is_registered(module_or_obj):
                self.pm.unregister(module_or_obj)
            self._error(name, "register", exc)
            return False
        module = getattr(module_or_obj, "__name__", type(module_or_obj).__name__)
        self.plugins[name] = PluginInfo(name, module, distribution, version)
        for kind, hook_name in KINDS.items():
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                if impl.plugin_name != name:
                    continue
                try:
                    result = impl.function()
                    components = list(result or [])
                except Exception as exc:  # noqa: BLE001
                    self._error(name, f"hook {hook_name}", exc)
                    continue
                for obj in components:
                    self._add(kind, name, obj)
        return True

    def _add(self, kind: str, plugin: str, obj: Any) -> None:
        cname = _component_name(obj)
        if cname is None:
            self.errors.append(
                PluginError(plugin, f"{kind} registration", f"a {kind} without a name was skipped: {obj!r}")
            )
            return
        table = self.entries[kind]
        if (kind, cname) in self.duplicates:
            owners = self.duplicates[(kind, cname)]
            self.errors.append(PluginError(
                plugin, f"{kind} registration",
                f"{kind} '{cname}' is already registered by plugin(s) {', '.join(repr(p) for p in owners)}; "
                f"plugin '{plugin}' registered it again"))  # fmt: skip
            owners.append(plugin)
            return
        if cname in table:
            first = table.pop(cname).plugin
            self.duplicates[(kind, cname)] = [first, plugin]
            self.errors.append(
                PluginError(
                    plugin,
                    f"{kind} registration",
                    f"{kind} '{cname}' is registered by both plugin '{first}' and plugin '{plugin}'; "
                    f"neither is used until one is renamed or uninstalled",
                )
            )
            return
        defaults = dict(obj.defaults) if isinstance(obj, Lazy) else {}
        table[cname] = Entry(kind, cname, plugin, obj, _description(obj), defaults)

    def _error(self, plugin: str, stage: str, exc: BaseException) -> None:
        self.errors.append(
            PluginError(
                plugin,
                stage,
                f"{type(exc).__name__}: {exc}",
                "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            )
        )

    def discover(self, include_builtin: bool = True) -> Registry:
        if include_builtin:
            from r1repro import builtin

            self.add_plugin(builtin, BUILTIN_PLUGIN, "r1repro", _version("r1repro"))
        seen: set[str] = set(self.plugins)
        owners = _entry_point_owners()
        for ep in _entry_points():
            if ep.name in seen:
                continue
            seen.add(ep.name)
            dist = getattr(ep, "dist", None)
            dist_name = getattr(dist, "name", "") if dist else ""
            version = getattr(dist, "version", "") if dist else ""
            if len(owners.get(ep.name, ())) > 1:
                # two distributions claim one plugin name: loading either would silently
                # shadow the other, so neither is loaded until one is renamed or uninstalled
                dists = " and ".join(f"'{d}' ({v})" for d, v in owners[ep.name])
                self.errors.append(PluginError(
                    ep.name, "entry point",
                    f"plugin name '{ep.name}' is claimed by distributions {dists}; neither is loaded "
                    f"until one is uninstalled or renames its '{ENTRY_POINT_GROUP}' entry point"))  # fmt: skip
                continue
            try:
                module = ep.load()
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the others
                self._error(ep.name, f"import {ep.value}", exc)
                continue
            self.add_plugin(module, ep.name, dist_name, version)
        for spec in filter(None, (s.strip() for s in os.environ.get("R1REPRO_PLUGINS", "").split(","))):
            name = spec.rsplit(".", 1)[-1] if ":" not in spec else spec.split(":", 1)[1]
            if name in seen:
                continue
            seen.add(name)
            try:
                module = importlib.import_module(spec.split(":")[0])
            except Exception as exc:  # noqa: BLE001
                self._error(name, f"import {spec}", exc)
                continue
            self.add_plugin(module, name)
        return self

    # -- lookup ----------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        self._check_kind(kind)
        return sorted(self.entries[kind])

    def entry(self, kind: str, name: str) -> Entry:
        self._check_kind(kind)
        table = self.entries[kind]
        if name in table:
            return table[name]
        if (kind, name) in self.duplicates:
            owners = " and ".join(f"'{p}'" for p in self.duplicates[(kind, name)])
            raise DuplicateComponentError(
                f"{kind} '{name}' is registered by plugins {owners}. Rename it in one plugin or "
                f"uninstall one of them (`r1repro list` shows every plugin)."
            )
        msg = f"Unknown {kind} '{name}'."
        close = difflib.get_close_matches(name, list(table), n=3, cutoff=0.6)
        if close:
            msg += " Did you mean: " + ", ".join(close) + "?"
        prefix = name.split(".", 1)[0]
        broken = [e for e in self.errors if e.plugin == prefix]
        if broken:
            msg += f" Plugin '{prefix}' failed to load: {broken[0].message}"
        elif table:
            msg += f" Known {kind}s: " + ", ".join(sorted(table)[:30]) + ("..." if len(table) > 30 else "")
        else:
            msg += f" No plugin provides a {kind}."
        raise UnknownComponentError(msg)

    def load(self, kind: str, name: str) -> Any:
        return self.entry(kind, name).load()

    def build(self, kind: str, spec: Any, **overrides: Any) -> Any:
        """Build a component from a name or a ``{"name": ..., **options}`` mapping.

        Classes are instantiated with ``{**registered defaults, **spec options, **overrides}``;
        functions with options are partially applied; instances are returned as they are
        (options go to their ``configure(**options)`` if they have one).
        """
        name, options = split_spec(spec)
        entry = self.entry(kind, name)
        obj = entry.load()
        kwargs = {**entry.defaults, **options, **overrides}
        if inspect.isclass(obj):
            try:
                inst = obj(**kwargs)
            except (TypeError, ValueError) as exc:  # an unknown or rejected option: one clear line
                raise ComponentLoadError(
                    f"could not build {kind} '{name}' with options {kwargs}: {type(exc).__name__}: {exc}"
                ) from exc
            _set_name(inst, name)
            return inst
        if callable(obj) and (
            inspect.isfunction(obj) or inspect.isbuiltin(obj) or isinstance(obj, functools.partial)
        ):
            if not kwargs:
                return obj
            part = functools.partial(obj, **kwargs)
            functools.update_wrapper(part, obj)
            return part
        if kwargs:
            configure = getattr(obj, "configure", None)
            if configure is None:
                raise ComponentLoadError(f"{kind} '{name}' takes no options, got {kwargs}")
            return configure(**kwargs)
        return obj

    def describe(self) -> dict[str, list[dict[str, str]]]:
        return {
            kind: [
                {"name": e.name, "plugin": e.plugin, "description": e.description}
                for e in sorted(table.values(), key=lambda e: e.name)
            ]
            for kind, table in self.entries.items()
        }

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise RegistryError(f"unknown component kind '{kind}'; kinds are: {', '.join(KINDS)}")


def _set_name(inst: Any, name: str) -> None:
    try:
        if getattr(inst, "name", None) in (None, ""):
            inst.name = name
    except Exception:  # noqa: BLE001 - frozen objects keep their own name
        pass


def split_spec(spec: Any) -> tuple[str, dict[str, Any]]:
    """``"name"`` or ``{"name": ..., **options}`` (dict or OmegaConf) -> (name, options)."""
    if isinstance(spec, str):
        return spec, {}
    if hasattr(spec, "items") and not isinstance(spec, Mapping):  # OmegaConf DictConfig
        from omegaconf import OmegaConf

        spec = OmegaConf.to_container(spec, resolve=True)
    if isinstance(spec, Mapping):
        options = dict(spec)
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise RegistryError(f"a component spec needs a 'name': {spec!r}")
        return name, options
    raise RegistryError(f"a component spec is a name or a mapping with a 'name', got {spec!r}")


def _entry_points() -> Iterable[metadata.EntryPoint]:
    try:
        return metadata.entry_points(group=ENTRY_POINT_GROUP)
    except TypeError:  # Python < 3.10 API
        return metadata.entry_points().get(ENTRY_POINT_GROUP, [])  # type: ignore[attr-defined]


def _entry_point_owners() -> dict[str, list[tuple[str, str]]]:
    """Plugin name -> the distinct (distribution, version) pairs whose entry point claims it.

    Why: `importlib.metadata` lists an entry point of every distribution on ``sys.path``;
    keeping only the first of two same-named ones let a second distribution replace an
    installed plugin without a word (which one wins depends on path order)."""
    owners: dict[str, list[tuple[str, str]]] = {}
    for ep in _entry_points():
        dist = getattr(ep, "dist", None)
        key = (getattr(dist, "name", "") or "?", getattr(dist, "version", "") or "?") if dist else ("?", "?")
        if key not in owners.setdefault(ep.name, []):
            owners[ep.name].append(key)
    return owners


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


_REGISTRY: Registry | None = None
_LOCK = threading.Lock()


def load_plugins(reload: bool = False) -> Registry:
    """Discover every installed plugin once per process and return the registry."""
    global _REGISTRY
    with _LOCK:
        if _REGISTRY is None or reload:
            _REGISTRY = Registry().discover()
        return _REGISTRY


def get_registry() -> Registry:
    return load_plugins()


def build(kind: str, spec: Any, **overrides: Any) -> Any:
    """Shortcut: ``r1repro.build("reward", "tinyv.addon", weight=1.0)``."""
    return get_registry().build(kind, spec, **overrides)
