"""The privileged half of `r1repro.sandbox`: builds the jail, then runs untrusted code in it.

Run as ``python -I -S _sandbox_child.py STAGE STATUS_FD`` by `r1repro.sandbox.run_sandboxed`,
never imported. Standard library only (it runs without site-packages). ``STAGE`` is a
caller-only directory holding ``config.json`` and ``files/``; ``STATUS_FD`` is a pipe on
which this script writes one JSON object per line: the isolation layers it set up
(``{"layer": ...}``), the ones it could not (``{"missing": ..., "why": ...}``), a refusal
(``{"refused": ...}``) and the untrusted program's exit (``{"exit": ..., "signal": ...}``).

With namespaces (root, or an unprivileged user namespace) the process tree is::

    caller -> this script (outside)  -> jail init (PID 1 of a new PID namespace) -> program

The jail init builds a fresh root: a small read-only tmpfs with read-only binds of /usr and
the interpreter's installation, a synthetic /etc, a few /dev nodes, its own /proc, and a
size-capped private tmpfs at /sandbox (also /tmp). It then drops to a non-root uid, sets
rlimits and ``no_new_privs`` and execs the program. When the program exits, the init exits
and the kernel kills everything left in the PID namespace; when the caller kills this
script, a parent-death signal kills the init, with the same effect.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import resource
import select
import shutil
import signal
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
# statvfs f_flag bits a read-only remount of a bind must keep (the kernel refuses to drop
# them inside a user namespace)
ST_KEEP = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC}
PIVOT_ROOT_NR = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}

_libc = ctypes.CDLL(None, use_errno=True)
_STATUS_FD = -1
_ACTIVE: set[str] = set()  # the layers reported so far


def report(**event) -> None:
    """One status line for the caller; never fails (the caller may already be gone)."""
    if "layer" in event:
        _ACTIVE.add(event["layer"])
    try:
        os.write(_STATUS_FD, (json.dumps(event) + "\n").encode())
    except OSError:
        pass


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(src: str | None, dst: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    _check(_libc.mount(enc(src), enc(dst), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {dst}")


def prctl(option: int, arg: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl {option}")


# ------------------------------------------------------------------------ filesystem view
def _bind_ro(src: str, dst: str) -> None:
    """Bind ``src`` at ``dst`` read-only, keeping the flags a user namespace may not drop."""
    mount(src, dst, None, MS_BIND | MS_REC)
    keep = sum(bit for st, bit in ST_KEEP.items() if os.statvfs(dst).f_flag & st)
    mount(None, dst, None, MS_BIND | MS_REMOUNT | MS_RDONLY | keep)


def _mountpoint(root: str, path: str, is_dir: bool = True) -> str:
    dst = root + path
    if is_dir:
        os.makedirs(dst, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), mode=0o755, exist_ok=True)
        open(dst, "a").close()
    return dst


def _mirror_top_level(root: str, name: str) -> None:
    """/bin, /lib, ... : the same symlink as on the host (merged /usr), or a read-only bind."""
    host = "/" + name
    if os.path.islink(host):
        os.symlink(os.readlink(host), root + host)
    elif os.path.isdir(host):
        _bind_ro(host, _mountpoint(root, host))


def _write(path: str, text: str, mode: int | None = 0o644) -> None:
    with open(path, "w") as fh:
        fh.write(text)
    if mode is not None:
        os.chmod(path, mode)


def _synthetic_etc(root: str, uid: int, gid: int) -> None:
    """A made-up /etc: the host's users, hosts and secrets are never visible."""
    etc = _mountpoint(root, "/etc")
    _write(
        f"{etc}/passwd",
        f"root:x:0:0::/:/usr/sbin/nologin\nsandbox:x:{uid}:{gid}::/sandbox:/usr/sbin/nologin\n",
    )
    _write(f"{etc}/group", f"root:x:0:\nsandbox:x:{gid}:\n")
    _write(f"{etc}/hosts", "127.0.0.1 localhost\n")
    _write(f"{etc}/hostname", "sandbox\n")
    if os.path.exists("/etc/ld.so.cache"):  # lets the dynamic loader find libraries quickly
        shutil.copyfile("/etc/ld.so.cache", f"{etc}/ld.so.cache")


def _devices(root: str, shm_mb: int) -> None:
    _mountpoint(root, "/dev")
    for node in ("null", "zero", "full", "random", "urandom"):
        if os.path.exists("/dev/" + node):
            mount("/dev/" + node, _mountpoint(root, "/dev/" + node, is_dir=False), None, MS_BIND)
    os.symlink("/proc/self/fd", root + "/dev/fd")
    mount(
        "tmpfs",
        _mountpoint(root, "/dev/shm"),
        "tmpfs",
        MS_NOSUID | MS_NODEV | MS_NOEXEC,
        f"size={shm_mb}m,mode=1777",
    )


def _private_dir(root: str, stage: str, cfg: dict) -> None:
    """The only writable place: a tmpfs capped at ``disk_mb``, owned by the sandbox user."""
    work = _mountpoint(root, "/sandbox")
    uid, gid = cfg["inner_uid"], cfg["inner_gid"]
    mount(
        "tmpfs", work, "tmpfs", MS_NOSUID | MS_NODEV, f"size={cfg['disk_mb']}m,mode=700,uid={uid},gid={gid}"
    )
    _copy_files(os.path.join(stage, "files"), work, uid, gid)
    os.symlink("/sandbox", root + "/tmp")


def _copy_files(src_dir: str, dst_dir: str, uid: int, gid: int) -> None:
    for dirpath, _, filenames in os.walk(src_dir):
        rel = os.path.relpath(dirpath, src_dir)
        target = os.path.normpath(os.path.join(dst_dir, rel))
        os.makedirs(target, exist_ok=True)
        os.chown(target, uid, gid)
        for name in filenames:
            shutil.copyfile(os.path.join(dirpath, name), os.path.join(target, name))
            os.chown(os.path.join(target, name), uid, gid)


def _pivot(root: str) -> None:
    """Make ``root`` the filesystem root and detach the host's tree from this namespace."""
    nr = PIVOT_ROOT_NR.get(platform.machine())
    if nr is None:
        raise OSError(errno.ENOSYS, f"pivot_root number unknown for {platform.machine()}")
    os.chdir(root)
    os.mkdir(".old")
    _check(_libc.syscall(ctypes.c_long(nr), b".", b".old"), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.old", MNT_DETACH), "umount old root")
    os.rmdir("/.old")


def build_root(stage: str, cfg: dict) -> None:
    root = os.path.join(stage, "root")
    os.makedirs(root, exist_ok=True)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    _bind_ro("/usr", _mountpoint(root, "/usr"))
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        _mirror_top_level(root, name)
    for path in cfg["ro_paths"]:  # the interpreter's installation, caller-requested extras
        if os.path.exists(path) and path != "/usr" and not path.startswith("/usr/"):
            _bind_ro(path, _mountpoint(root, path, is_dir=os.path.isdir(path)))
    _synthetic_etc(root, cfg["inner_uid"], cfg["inner_gid"])
    _devices(root, cfg["shm_mb"])
    _private_dir(root, stage, cfg)
    proc = _mountpoint(root, "/proc")
    try:  # this PID namespace's own /proc: it shows only the jail's processes
        mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        report(layer="proc")
    except OSError as exc:
        report(missing="proc", why=str(exc))  # no /proc at all is stricter, not looser
    _pivot(root)
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


# ------------------------------------------------------------------------ the program
def set_limits(cfg: dict) -> None:
    mb = 1024 * 1024
    for res, value in (
        (resource.RLIMIT_CPU, cfg["cpu_s"]),
        (resource.RLIMIT_AS, cfg["memory_mb"] * mb),
        (resource.RLIMIT_FSIZE, cfg["fsize_mb"] * mb),
        (resource.RLIMIT_NPROC, cfg["max_processes"]),
        (resource.RLIMIT_NOFILE, 256),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(res, (value, value))


def exec_program(cfg: dict, cwd: str, drop_to: tuple[int, int] | None) -> None:
    """Never returns: limits, identity and ``no_new_privs``, then ``execve`` (or exit 127)."""
    try:
        set_limits(cfg)
        if drop_to is not None:
            uid, gid = drop_to
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        os.chdir(cwd)
        os.set_inheritable(_STATUS_FD, False)
        os.execve(cfg["argv"][0], cfg["argv"], cfg["env"])
    except BaseException as exc:  # noqa: BLE001 - the program could not start
        os.write(2, f"sandbox: could not start {cfg['argv'][0]}: {exc}\n".encode())
    os._exit(127)


def _exit_like(status: int) -> None:
    """Leave with the program's exit status, and tell the caller what it was."""
    if os.WIFSIGNALED(status):
        report(signal=os.WTERMSIG(status))
        os._exit(128 + os.WTERMSIG(status))
    report(exit=os.WEXITSTATUS(status))
    os._exit(os.WEXITSTATUS(status))


def jail_init(stage: str, cfg: dict, alive_r: int, drop_to: tuple[int, int] | None) -> None:
    """PID 1 of the jail: build the root, start the program, reap until it exits, leave."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if select.select([alive_r], [], [], 0)[0]:  # the outside half already died
        os._exit(125)
    build_root(stage, cfg)
    _check(_libc.sethostname(b"sandbox", 7), "sethostname")
    report(layer="mountns")
    report(started=True)
    child = os.fork()
    if child == 0:
        exec_program(cfg, "/sandbox", drop_to)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(125)
        if pid == child:  # leaving kills every other process in the namespace
            _exit_like(status)


def _enter_namespaces(cfg: dict) -> tuple[int, int] | None:
    """unshare(); returns the uid/gid to drop to after setup (None: already unprivileged)."""
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if os.geteuid() == 0:
        _check(_libc.unshare(flags), "unshare")
        cfg["inner_uid"], cfg["inner_gid"] = cfg["uid"], cfg["uid"]
        drop_to = (cfg["uid"], cfg["uid"])
    else:  # an unprivileged user namespace: one uid, mapped to the caller's
        outer_uid, outer_gid = os.getuid(), os.getgid()
        _check(_libc.unshare(flags | CLONE_NEWUSER), "unshare")
        _write("/proc/self/setgroups", "deny", None)
        _write("/proc/self/uid_map", f"65534 {outer_uid} 1\n", None)
        _write("/proc/self/gid_map", f"65534 {outer_gid} 1\n", None)
        cfg["inner_uid"], cfg["inner_gid"] = 65534, 65534
        drop_to = None  # uid 65534 in the namespace: execve drops the setup capabilities
        report(layer="userns")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    for layer in ("pidns", "netns", "ipcns"):
        report(layer=layer)
    return drop_to


def run_in_namespaces(stage: str, cfg: dict) -> None:
    drop_to = _enter_namespaces(cfg)
    report(layer="uid")
    alive_r, alive_w = os.pipe()
    init = os.fork()
    if init == 0:
        os.close(alive_w)
        try:
            jail_init(stage, cfg, alive_r, drop_to)
        except BaseException as exc:  # noqa: BLE001
            report(setup_failed=str(exc))
            os._exit(125)
    os.close(alive_r)
    _, status = os.waitpid(init, 0)
    # the init already reported the program's exit; pass its status on unchanged
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def _world_reachable(path: str) -> bool:
    """Can a stranger uid traverse to and read ``path`` (every parent o+x, the file o+r)?"""
    path = os.path.realpath(path)
    parts = path.split("/")
    for i in range(2, len(parts)):
        if not os.stat("/".join(parts[:i])).st_mode & 0o001:
            return False
    return bool(os.stat(path).st_mode & 0o004)


def run_without_namespaces(stage: str, cfg: dict) -> None:
    """Fallback: a host directory, a throwaway uid if we are root, limits; no jail."""
    work = os.path.join(stage, "work")
    os.makedirs(work, exist_ok=True)
    drop_to = None
    if os.geteuid() == 0:
        uid = cfg["uid"]
        usable = [p for p in cfg["fallback_interpreters"] if os.path.exists(p) and _world_reachable(p)]
        if cfg["argv_is_python"] and not usable:
            report(missing="uid", why="no interpreter readable by a non-root uid")
        else:
            if cfg["argv_is_python"]:
                cfg["argv"][0] = usable[0]
            drop_to = (uid, uid)
            os.chmod(stage, 0o711)
            report(layer="uid")
    else:
        report(missing="uid", why="not root and no user namespace: runs as the caller's uid")
    owner = drop_to or (os.getuid(), os.getgid())
    _copy_files(os.path.join(stage, "files"), work, *owner)
    cfg["env"].update(HOME=work, TMPDIR=work)
    refuse_if_missing(cfg, _ACTIVE)
    report(started=True)
    exec_program(cfg, work, drop_to)


def refuse_if_missing(cfg: dict, active: set[str]) -> None:
    """Exit before running anything if a layer the caller requires is not (going to be) active."""
    lacking = sorted(set(cfg["require"]) - active)
    if lacking:
        report(refused=lacking)
        os._exit(125)


def join_cgroups(cfg: dict) -> None:
    """Move into the call's cgroups first, so every process of the jail is counted there."""
    try:
        if not cfg["cgroup_procs"]:
            raise OSError(cfg["cgroup_why"] or "no cgroup")
        for procs in cfg["cgroup_procs"]:
            _write(procs, str(os.getpid()), None)
        report(layer="cgroup")
    except OSError as exc:
        report(missing="cgroup", why=str(exc))


def sweep(uid: int) -> None:
    """Become ``uid`` and SIGKILL every process it may signal: all of that uid's processes."""
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    for _ in range(5):  # again, in case one forked while the first pass ran
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            break


def main() -> None:
    global _STATUS_FD
    if sys.argv[1] == "--sweep":
        sweep(int(sys.argv[2]))
        return
    stage, _STATUS_FD = sys.argv[1], int(sys.argv[2])
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the caller dies -> this dies -> the jail dies
    with open(os.path.join(stage, "config.json")) as fh:
        cfg = json.load(fh)
    if os.getppid() != cfg["caller_pid"]:
        os._exit(125)
    join_cgroups(cfg)
    report(layer="session")
    report(layer="rlimits")
    report(layer="no_new_privs")
    if cfg["namespaces"]:
        try:
            unshare_possible = _probe_unshare()
        except OSError as exc:
            unshare_possible = str(exc)
        if unshare_possible is True:
            jail = {"uid", "pidns", "netns", "ipcns", "mountns"} | ({"userns"} if os.geteuid() else set())
            refuse_if_missing(cfg, _ACTIVE | jail)
            try:
                run_in_namespaces(stage, cfg)
            except Exception as exc:  # noqa: BLE001 - one line for the caller, not a traceback
                report(setup_failed=str(exc))
                os._exit(125)
        why = unshare_possible
    else:
        why = "disabled by R1REPRO_SANDBOX_NAMESPACES=0"
    for layer in ("pidns", "netns", "mountns"):
        report(missing=layer, why=why)
    run_without_namespaces(stage, cfg)


def _probe_unshare() -> bool | str:
    """Try the namespaces in a throwaway child, so a failure leaves this process untouched."""
    pid = os.fork()
    if pid == 0:
        flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
        flags |= 0 if os.geteuid() == 0 else CLONE_NEWUSER
        os._exit(0 if _libc.unshare(flags) == 0 else min(ctypes.get_errno(), 255) or 1)
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 255
    return True if code == 0 else f"unshare: {os.strerror(code)}"


if __name__ == "__main__":
    main()
