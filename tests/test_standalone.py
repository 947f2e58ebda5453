"""One paper's plugin installed alone: what a user gets from `pip install r1repro-<paper>`.

Two checks per plugin:

* **Imports are declared** (static, every module): each third-party module a plugin imports is
  provided by a distribution in the plugin's own `dependencies`, or by one the core itself
  depends on (the core's dependencies come with `r1repro`). A plugin that leans on a package
  some *other* dependency happens to pull in breaks the day that dependency drops it.
* **Installed alone, it works** (runtime): a fresh virtual environment gets the core and this one
  plugin installed non-editable from copies of their sources, so nothing is read from the
  checkout; third-party packages come from the project's environment through a site dir that
  holds everything *except* the r1repro distributions. Inside it, the plugin is discovered with
  no load error and no other plugin; every module of the package imports; every component it
  registers builds with its contract example; rewards score the adversarial corpus; dataset
  fixtures match the Row schema; templates render.

The runtime check needs pip and setuptools in the project's environment (both are there after
`make install`); it builds no wheels from the network.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())
_IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "*.pyc")


def _norm(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _req_name(req: str) -> str:
    return _norm(re.split(r"[<>=!~ ;\[(]", req.strip(), maxsplit=1)[0])


def _package_dir(plugin: str) -> Path:
    pkgs = [
        d
        for d in (ROOT / "plugins" / plugin).glob("r1repro_*")
        if d.is_dir() and (d / "__init__.py").exists()
    ]
    assert len(pkgs) == 1, f"plugins/{plugin} has one r1repro_* package, found {pkgs}"
    return pkgs[0]


def _imported_top_levels(pkg: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for f in sorted(pkg.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(), filename=str(f))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for n in names:
                found.setdefault(n.split(".")[0], set()).add(str(f.relative_to(pkg.parent)))
    return found


CORE_DEPS = {_req_name(r) for r in requires("r1repro") or [] if "extra ==" not in r}


@pytest.mark.parametrize("plugin", PLUGINS)
def test_every_third_party_import_is_a_declared_dependency(plugin):
    meta = tomllib.loads((ROOT / "plugins" / plugin / "pyproject.toml").read_text())["project"]
    declared = {_req_name(r) for r in meta.get("dependencies", [])}
    assert "r1repro" in declared, f"{plugin}: a plugin depends on the core ('r1repro>=...')"
    pkg = _package_dir(plugin)
    providers = packages_distributions()
    undeclared = {}
    for top, files in _imported_top_levels(pkg).items():
        if top in sys.stdlib_module_names or top in ("r1repro", pkg.name, "__future__"):
            continue
        assert not top.startswith("r1repro_"), f"{plugin} imports another plugin ({top}) in {sorted(files)}"
        dists = {_norm(d) for d in providers.get(top, [top])}
        if not dists & (declared | CORE_DEPS):
            undeclared[top] = sorted(files)
    assert not undeclared, (
        f"plugins/{plugin}/pyproject.toml does not declare what these imports need "
        f"(module: files): {undeclared}"
    )


# ------------------------------------------------------------------------ installed alone
_CHECK = r"""
import importlib, pkgutil, sys
from r1repro.hookspecs import KINDS
from r1repro.registry import load_plugins
from r1repro.testing import adversarial_samples, build_example, check_reward, check_row

plugin, package = sys.argv[1:3]
reg = load_plugins()
assert not reg.errors, [str(e) for e in reg.errors]
assert set(reg.plugins) == {"core", plugin}, f"plugins found: {sorted(reg.plugins)}"
pkg = importlib.import_module(package)
assert "site-packages" in pkg.__file__, f"{package} was read from {pkg.__file__}, not the install"
modules = [m.name for m in pkgutil.walk_packages(pkg.__path__, package + ".") if not m.name.endswith(".__main__")]
for name in modules:
    importlib.import_module(name)
built = []
for kind in KINDS:
    for name, entry in sorted(reg.entries[kind].items()):
        if entry.plugin != plugin:
            continue
        comp = build_example(reg, kind, name)
        if kind == "reward":
            check_reward(comp, adversarial_samples()[:6])
        elif kind == "dataset":
            rows = comp.fixture()
            assert rows and all(check_row(r) == [] for r in rows), name
        elif kind == "template":
            assert comp.render("What is 6 times 7?"), name
        built.append(f"{kind}:{name}")
assert built, f"{plugin} registers no component"
print("STANDALONE-OK", len(modules), "modules;", " ".join(built))
"""


@pytest.fixture(scope="module")
def deps_site(tmp_path_factory):
    """A site dir with every package of this environment except the r1repro distributions."""
    site = Path(sysconfig.get_paths()["purelib"])
    out = tmp_path_factory.mktemp("standalone") / "deps"
    out.mkdir()
    for item in site.iterdir():
        if "r1repro" not in item.name.lower():
            (out / item.name).symlink_to(item.resolve())
    return out


@pytest.fixture(scope="module")
def core_copy(deps_site):
    src = deps_site.parent / "src-core"
    src.mkdir()
    for f in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / f, src / f)
    shutil.copytree(ROOT / "core", src / "core", ignore=_IGNORE)
    return src


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("plugin", PLUGINS)
def test_the_plugin_installed_alone_loads_builds_and_scores(plugin, deps_site, core_copy, tmp_path):
    from r1repro.paths import cache_dir

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    purelib = _run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    ).stdout.strip()
    Path(purelib, "_r1repro_deps.pth").write_text(f"import site; site.addsitedir({str(deps_site)!r})\n")
    src = tmp_path / "src-plugin"
    shutil.copytree(ROOT / "plugins" / plugin, src, ignore=_IGNORE)
    env = {k: v for k, v in os.environ.items() if k not in ("R1REPRO_ROOT", "R1REPRO_PLUGINS", "PYTHONPATH")}
    env.update(R1REPRO_CACHE=str(cache_dir()), PYTHONNOUSERSITE="1")
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
          "--disable-pip-version-check", str(core_copy), str(src)], env=env, cwd=tmp_path)  # fmt: skip
    out = _run([str(py), "-c", _CHECK, plugin, _package_dir(plugin).name], env=env, cwd=tmp_path).stdout
    assert "STANDALONE-OK" in out, out
    listing = _run([str(venv / "bin" / "r1repro"), "list"], env=env, cwd=tmp_path)
    assert f"{plugin}." in listing.stdout or f"  {plugin} " in listing.stdout, listing.stdout
    assert "failed" not in listing.stderr.lower(), listing.stderr
