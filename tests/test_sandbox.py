"""`r1repro.sandbox.run_sandboxed` against hostile code (issue 12 §1).

Every attack case asserts both that the attack failed and that the caller is unharmed. The
attacks that could kill or bloat the caller run through a throwaway caller process
(`_call_in_subprocess`), so a regression fails one test instead of taking pytest down. Tests
that need a layer this machine does not permit skip, naming the layer.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from r1repro import sandbox
from r1repro.sandbox import SandboxWarning, _own_cgroups, available_layers, run_sandboxed

JAIL = ("pidns", "netns", "mountns", "uid")


@pytest.fixture(scope="module")
def layers() -> tuple[str, ...]:
    return available_layers()


def need(layers: tuple[str, ...], *wanted: str) -> None:
    lacking = [w for w in wanted if w not in layers]
    if lacking:
        pytest.skip(f"this machine does not permit sandbox layer(s) {lacking}")


def _alive_with(token: str) -> list[int]:
    """Host pids whose command line carries ``token`` (a process that escaped the call)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _call_in_subprocess(code: str, env: dict[str, str] | None = None, **kwargs) -> dict:
    """Run ``code`` jailed from a fresh caller process; its verdict and health as a dict."""
    script = f"""
import json, resource, sys
from r1repro.sandbox import run_sandboxed
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
r = run_sandboxed(sys.stdin.read(), **{kwargs!r})
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"stdout": r.stdout, "stderr": r.stderr, "rc": r.returncode, "killed": r.killed_reason,
                   "layers": r.layers, "rss_growth_kb": after - before}}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], input=code, capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert proc.returncode == 0, f"the caller died (rc {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout)


# ------------------------------------------------------------------------ processes
def test_fork_bomb_is_capped(layers):
    need(layers, "uid")
    code = """
import os, time
n = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    n += 1
print(n)
"""
    t = time.time()
    r = run_sandboxed(code, timeout_s=5, max_processes=16)
    assert r.ok, r.stderr
    assert int(r.stdout) < 16  # RLIMIT_NPROC binds: a non-root uid
    assert time.time() - t < 5  # the sleeping children did not hold the call open


@pytest.mark.parametrize("how", ["devnull_popen", "setsid_double_fork"])
def test_no_process_outlives_the_call(layers, how):
    need(layers, "pidns")
    token = f"r1sbx-{secrets.token_hex(6)}"
    sleeper = f"[sys.executable, '-c', 'import time; time.sleep(20)', '{token}']"
    code = {
        "devnull_popen": f"""
import subprocess, sys
subprocess.Popen({sleeper}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
print("spawned")
""",
        "setsid_double_fork": f"""
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, {sleeper})
    os._exit(0)
time.sleep(0.3)
print("spawned")
""",
    }[how]
    r = run_sandboxed(code, timeout_s=5)
    assert r.ok and r.stdout.strip() == "spawned", r.stderr
    assert _alive_with(token) == []


def test_code_cannot_signal_its_caller(layers):
    """SIGKILL to the parent and to the caller's real pid (as read from a log, say) both fail.

    The caller is a throwaway process, so a regression kills it, not pytest. (``kill(-1)`` is
    left out on purpose: a regression there would kill every process of the test's user.)
    """
    need(layers, "pidns")
    code = """
import os
out = []
for target in (os.getppid(), CALLER):
    try:
        os.kill(target, 9)
        out.append("sent")
    except OSError as exc:
        out.append(type(exc).__name__)
print(out)
"""
    wrapper = f"""
import os, json
from r1repro.sandbox import run_sandboxed
r = run_sandboxed({code!r}.replace("CALLER", str(os.getpid())))
print(json.dumps({{"stdout": r.stdout, "stderr": r.stderr, "rc": r.returncode}}))
"""
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"the caller was killed: rc {proc.returncode}"
    result = json.loads(proc.stdout)
    assert result["rc"] == 0 and "sent" not in result["stdout"], result


def test_killing_the_caller_takes_the_jail_with_it(layers):
    """A pool worker killed at its deadline must not leave its sandboxed program running."""
    need(layers, "pidns")
    token = f"r1sbx-{secrets.token_hex(6)}"
    code = f"import subprocess, sys; subprocess.run([sys.executable, '-c', 'import time; time.sleep(30)', '{token}'])"
    caller = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from r1repro.sandbox import run_sandboxed; run_sandboxed({code!r}, timeout_s=30)",
        ]
    )

    def sleepers() -> list[int]:
        return [pid for pid in _alive_with(token) if pid != caller.pid]  # the caller's argv has it too

    try:
        for _ in range(100):  # wait until the sleeper runs
            if sleepers():
                break
            time.sleep(0.1)
        assert sleepers(), "the sandboxed program never started"
        caller.kill()
        caller.wait()
        for _ in range(50):
            if not sleepers():
                break
            time.sleep(0.1)
        assert sleepers() == []
        stale = Path(tempfile.gettempdir()) / f"r1repro-sbx-{caller.pid}-"
        assert list(stale.parent.glob(stale.name + "*")), "the killed caller left no staging directory"
        run_sandboxed("pass")  # the next call cleans up after the killed one
        assert not list(stale.parent.glob(stale.name + "*"))
    finally:
        caller.kill()


def test_concurrent_calls_do_not_mix(layers):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: run_sandboxed(f"print({i} * 2)"), range(4)))
    assert [r.stdout.strip() for r in results] == ["0", "2", "4", "6"]
    assert all(r.ok and r.layers == layers for r in results)


def test_wall_clock_kills_a_sleep_loop():
    t = time.time()
    r = run_sandboxed("import time\nwhile True: time.sleep(0.01)", timeout_s=1)
    assert r.timed_out and r.killed_reason == "timeout" and not r.ok
    assert time.time() - t < 3


def test_cpu_loop_is_killed():
    r = run_sandboxed("while True: pass", timeout_s=1)
    assert r.timed_out and not r.ok


# ------------------------------------------------------------------------ secrets and files
def test_caller_environment_does_not_leak(layers):
    secret = f"sk-{secrets.token_hex(8)}"
    code = """
import os
print(dict(os.environ))
for pid in ("1", str(os.getppid()), "self"):
    try:
        print(open(f"/proc/{pid}/environ", "rb").read())
    except OSError as exc:
        print(type(exc).__name__)
"""
    result = _call_in_subprocess(code, env={"R1REPRO_TEST_API_KEY": secret})
    assert result["rc"] == 0, result["stderr"]
    assert secret not in result["stdout"] + result["stderr"]


def test_host_home_and_tmp_are_not_writable(layers, tmp_path):
    need(layers, "mountns")
    name = f"r1sbx-{secrets.token_hex(4)}"
    targets = [str(Path.home() / name), f"/tmp/{name}", str(tmp_path / name), f"/usr/{name}", f"/etc/{name}"]
    code = f"""
for path in {targets!r}:
    try:
        open(path, "w").write("x")
        print("wrote", path)
    except OSError as exc:
        print("refused", path, type(exc).__name__)
"""
    r = run_sandboxed(code)
    assert r.ok, r.stderr
    for path in targets:
        assert not Path(path).exists(), f"the sandbox wrote {path} on the host"


def test_files_outside_cannot_be_deleted(layers, tmp_path):
    need(layers, "mountns")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    code = f"""
import os, shutil
for attempt in (lambda: os.remove({str(victim)!r}), lambda: shutil.rmtree({str(tmp_path)!r})):
    try:
        attempt()
    except OSError as exc:
        print(type(exc).__name__)
"""
    r = run_sandboxed(code)
    assert r.ok, r.stderr
    assert victim.read_text() == "keep me"


def test_host_etc_passwd_is_not_visible(layers):
    """Read policy: the jail sees a synthetic /etc (its own two users), never the host's."""
    need(layers, "mountns")
    host_passwd = Path("/etc/passwd").read_text()
    host_lines = [line for line in host_passwd.splitlines() if line and not line.startswith("root:")]
    r = run_sandboxed("print(open('/etc/passwd').read())\nopen('/etc/passwd', 'a').write('evil')")
    assert "OSError" in r.stderr or "Read-only" in r.stderr  # no write
    assert "sandbox:x:" in r.stdout
    assert not any(line in r.stdout for line in host_lines)
    assert Path("/etc/passwd").read_text() == host_passwd


def test_private_dir_is_writable_and_capped(layers):
    need(layers, "mountns")
    code = """
import os
open("/tmp/a", "w").write("ok")
print(open(os.path.join(os.environ["HOME"], "a")).read())
try:
    with open("big", "wb") as fh:
        for _ in range(40):
            fh.write(b"x" * 1024 * 1024)
except OSError as exc:
    print(exc.errno)
"""
    r = run_sandboxed(code, disk_mb=8, fsize_mb=16)
    assert r.ok, r.stderr
    lines = r.stdout.split()
    assert lines[0] == "ok"
    assert lines[1] == "28"  # ENOSPC: the private tmpfs is full at disk_mb


def test_file_size_limit_binds():
    code = """
try:
    with open("big", "wb") as fh:
        fh.write(b"x" * 3 * 1024 * 1024)
except OSError as exc:
    print(exc.errno)
"""
    r = run_sandboxed(code, fsize_mb=1, disk_mb=8)
    assert r.stdout.strip() == "27"  # EFBIG


# ------------------------------------------------------------------------ network, resources
def test_no_network_to_the_callers_loopback(layers):
    need(layers, "netns")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.5)
        port = server.getsockname()[1]
        code = f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=1)
    print("connected")
except OSError as exc:
    print("failed", exc.errno)
"""
        r = run_sandboxed(code)
        assert r.ok and r.stdout.startswith("failed"), r.stdout + r.stderr
        with pytest.raises(TimeoutError):
            server.accept()


def test_endless_output_is_capped_and_the_caller_stays_small():
    result = _call_in_subprocess(
        "import sys\nwhile True: sys.stdout.write('x' * 65536); sys.stderr.write('y' * 65536)",
        output_limit=20_000,
        timeout_s=10,
    )
    assert result["killed"] == "output_limit"
    assert len(result["stdout"]) <= 20_000 and len(result["stderr"]) <= 20_000
    assert result["rss_growth_kb"] < 30_000  # was 860 MB before the cap was streamed


def test_memory_limit_binds():
    r = run_sandboxed("x = bytearray(2_000_000_000)", memory_mb=256)
    assert not r.ok and "MemoryError" in r.stderr


def test_total_memory_of_the_jail_is_capped(layers):
    """Six processes of 120 MB each fit their own 256 MB limit but not the jail's 300 MB."""
    need(layers, "cgroup")
    code = """
import os, time
kids = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        block = b"x" * (120 * 1024 * 1024)
        time.sleep(1)
        os._exit(0)
    kids.append(pid)
print(sorted(os.waitstatus_to_exitcode(os.waitpid(k, 0)[1]) for k in kids))
"""
    bases = [Path("/sys/fs/cgroup", c, p.lstrip("/")) for c, p in _own_cgroups().items()]

    def ours() -> set[Path]:
        return {d for base in bases if base.is_dir() for d in base.glob("r1repro-sbx-*")}

    before = ours()
    r = run_sandboxed(code, memory_mb=256, memory_total_mb=300, timeout_s=10)
    assert r.returncode == -9 or "-9" in r.stdout, (r.stdout, r.stderr)
    assert ours() <= before  # the call's cgroups are removed when it returns


def test_a_non_root_caller_gets_the_jail_through_a_user_namespace(tmp_path):
    """As a plain user (uid 65534 here), the same layers come from an unprivileged user namespace."""
    python = "/usr/bin/python3"
    if os.geteuid() != 0 or not os.access(python, os.X_OK):
        pytest.skip("needs root (to become a plain user) and a system /usr/bin/python3")
    module = Path(sandbox.__file__)
    script = f"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("sbx", {str(module)!r})
sbx = sys.modules["sbx"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sbx)
import os, warnings
r = sbx.run_sandboxed("import os; print(os.getuid()); open('/etc/passwd').read()")
os.environ["R1REPRO_SANDBOX_NAMESPACES"] = "0"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    f = sbx.run_sandboxed("print('fallback ran')")
print(json.dumps({{"layers": r.layers, "missing": r.missing, "stdout": r.stdout, "stderr": r.stderr,
                  "fallback": [f.stdout, f.layers, sorted(f.missing), [str(w.message) for w in caught]]}}))
"""
    proc = subprocess.run([python, "-I", "-c", script], capture_output=True, text=True, timeout=60, cwd="/",
                          user=65534, group=65534, extra_groups=[])  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(f"a plain user cannot run the sandbox module here: {proc.stderr.strip()[-300:]}")
    result = json.loads(proc.stdout)
    if "userns" not in result["layers"]:
        pytest.skip(f"this machine does not permit unprivileged user namespaces: {result['missing']}")
    assert set(JAIL) <= set(result["layers"]), result
    assert result["stdout"].strip() == "65534", result
    # and the plain-user fallback still runs, loudly, without pretending to any jail layer
    stdout, fb_layers, fb_missing, messages = result["fallback"]
    assert stdout.strip() == "fallback ran"
    assert set(JAIL) <= set(fb_missing) and not set(JAIL) & set(fb_layers)
    assert any("WITHOUT these isolation layers" in m and "uid" in m for m in messages)


# ------------------------------------------------------------------------ API
def test_stdin_files_and_argv():
    r = run_sandboxed(
        "import sys, helper\nprint(helper.VALUE + sys.stdin.read())", stdin="!", files={"helper.py": "VALUE = 'hi'"}
    )  # fmt: skip
    assert not r.ok and "ModuleNotFoundError" in r.stderr  # -I: the script's folder is not on sys.path
    r = run_sandboxed(
        "import sys\nprint(open('data/in.txt').read() + sys.stdin.read())", stdin="!", files={"data/in.txt": "hi"}
    )  # fmt: skip
    assert r.ok and r.stdout.strip() == "hi!" and r.rc == 0
    r = run_sandboxed(argv=["cat", "data.txt"], files={"data.txt": b"raw\x00bytes"})
    assert r.ok and r.stdout == "raw\x00bytes"
    r = run_sandboxed(argv=["sh", "-c", 'echo "$TOOL_MODE $HOME"'], env={"TOOL_MODE": "search"})
    assert r.ok and r.stdout.strip() == "search /sandbox"
    r = run_sandboxed(argv=["sh", "-c", "exit 3"])
    assert not r.ok and r.returncode == 3 and r.killed_reason is None


def test_bad_requests_are_results_not_exceptions():
    for kwargs in (
        {"code": None},
        {"code": 3},
        {"code": "print(1)", "argv": ["true"]},
        {"argv": "true"},
        {"argv": ["no-such-command-r1sbx"]},
        {"code": "pass", "files": {"../escape": "x"}},
        {"code": "pass", "files": {"/abs": "x"}},
        {"code": "pass", "files": {"main.py": "x"}},
        {"code": "pass", "files": {"ok.txt": 3}},
        {"code": "pass", "env": {"A": 1}},
        {"code": "pass", "env": ["A"]},
    ):
        r = run_sandboxed(**kwargs)
        assert not r.ok and r.killed_reason == "error" and r.stderr.startswith("sandbox:"), kwargs
    assert run_sandboxed("print('\\udcff \\x00')").ok  # a lone surrogate in the source is replaced


def test_killed_by_a_signal_is_a_negative_returncode():
    r = run_sandboxed("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)")
    assert r.returncode == -15 and not r.ok


# ------------------------------------------------------------------------ fallback
def test_fallback_warns_loudly_and_still_reaps(monkeypatch):
    monkeypatch.setenv("R1REPRO_SANDBOX_NAMESPACES", "0")
    token = f"r1sbx-{secrets.token_hex(6)}"
    code = f"""
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(20)", "{token}"])
    os._exit(0)
time.sleep(0.3)
print("ran")
"""
    with pytest.warns(SandboxWarning, match="WITHOUT these isolation layers.*netns"):
        r = run_sandboxed(code, timeout_s=5)
    assert r.stdout.strip() == "ran", r.stderr
    assert not set(JAIL[:3]) & set(r.layers) and set(JAIL[:3]) <= set(r.missing)
    if os.geteuid() == 0:  # a throwaway uid, and every process of it is killed after the call
        assert "uid" in r.layers
        assert _alive_with(token) == []


def test_require_refuses_instead_of_falling_back(monkeypatch):
    monkeypatch.setenv("R1REPRO_SANDBOX_NAMESPACES", "0")
    with pytest.warns(SandboxWarning):
        r = run_sandboxed("print('ran')", require=("netns",))
    assert r.killed_reason == "refused" and r.stdout == "" and "netns" in r.stderr


def test_require_is_met_by_a_full_jail(layers):
    need(layers, *JAIL, "cgroup")
    r = run_sandboxed("print('ran')", require=(*JAIL, "cgroup"))
    assert r.ok and r.stdout.strip() == "ran"
