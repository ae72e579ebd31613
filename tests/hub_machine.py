"""What the JupyterHub test changes on the machine, and how it takes every change back.

Unix users and groups (``useradd``, ``groupadd``), traverse rights for those users on the
directories between ``/`` and the course's Python (POSIX ACL entries, so nobody else gains
anything), and the processes they run. :class:`Machine` records each change as it makes it;
:meth:`Machine.undo` takes them back in reverse order, goes on when one step fails, and
:meth:`Machine.leftovers` says what is still there.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

# POSIX ACL as Linux stores it in the "system.posix_acl_access" attribute (acl/include/acl_ea.h):
# a version word, then (tag, permission, id) entries sorted by tag and id.
_ACL_XATTR = "system.posix_acl_access"
_ACL_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_NO_ID = 0xFFFFFFFF


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_of(uids: Iterable[int]) -> dict[int, str]:
    """PID -> command line of every process whose real or effective uid is in ``uids``."""
    uids = set(uids)
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        real, effective = (int(x) for x in line.split()[1:3])
        if real in uids or effective in uids:
            found[int(entry.name)] = cmdline.strip()
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def terminate(pids: Iterable[int], grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds, to these PIDs only."""
    pids = [pid for pid in pids if alive(pid)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.2)
    for pid in pids:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _read_acl(path: Path) -> list[tuple[int, int, int]] | None:
    try:
        data = os.getxattr(path, _ACL_XATTR)
    except OSError:
        return None
    (version,) = struct.unpack_from("<I", data)
    assert version == _ACL_VERSION, f"{path}: ACL version {version}"
    return [struct.unpack_from("<HHI", data, 4 + 8 * i) for i in range((len(data) - 4) // 8)]


def _write_acl(path: Path, entries: list[tuple[int, int, int]]) -> None:
    data = struct.pack("<I", _ACL_VERSION) + b"".join(
        struct.pack("<HHI", *entry) for entry in sorted(entries, key=lambda e: (e[0], e[2]))
    )
    os.setxattr(path, _ACL_XATTR, data)


def closed_ancestors(paths: Iterable[Path]) -> list[Path]:
    """Directories from ``/`` down to each path that others may not traverse (no o+x)."""
    closed: list[Path] = []
    for path in paths:
        path = Path(path).resolve()
        for directory in [*reversed(path.parents), path]:
            if directory.is_dir() and not directory.stat().st_mode & 0o001:
                if directory not in closed:
                    closed.append(directory)
    return closed


class Machine:
    """Changes made for one test run, undone in reverse order by :meth:`undo`."""

    def __init__(self) -> None:
        self.users: list[str] = []
        self.groups: list[str] = []
        self.uids: set[int] = set()
        self.acl_dirs: list[Path] = []
        self._undo: list[tuple[str, object]] = []

    def run(self, *args: str) -> None:
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{' '.join(args)}: {proc.stdout}{proc.stderr}"

    def add_group(self, name: str) -> None:
        self.run("groupadd", name)
        self.groups.append(name)
        self._undo.append(("group", name))

    def add_user(self, name: str, password: str, groups: Iterable[str] = ()) -> pwd.struct_passwd:
        """A Unix user made as an administrator would: ``useradd -m`` with Debian's defaults."""
        extra = ["-G", ",".join(groups)] if groups else []
        self._undo.append(("user", name))  # before useradd: a half-made user is removed too
        self.run("useradd", "-m", "-s", "/bin/bash", *extra, name)
        proc = subprocess.run(
            ["chpasswd"], input=f"{name}:{password}\n", capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        self.users.append(name)
        entry = pwd.getpwnam(name)
        self.uids.add(entry.pw_uid)
        return entry

    def grant_traverse(self, directories: Iterable[Path], uids: Iterable[int]) -> None:
        """ACL entries ``u:<uid>:--x`` on each directory (and a mask that lets them count)."""
        uids = sorted(set(uids))
        for directory in directories:
            mode = directory.stat().st_mode
            original = os.getxattr(directory, _ACL_XATTR) if _read_acl(directory) else None
            self._undo.append(("acl", (directory, original, mode, uids)))
            self.acl_dirs.append(directory)
            entries = _read_acl(directory) or [
                (_USER_OBJ, (mode >> 6) & 7, _NO_ID),
                (_GROUP_OBJ, (mode >> 3) & 7, _NO_ID),
                (_OTHER, mode & 7, _NO_ID),
            ]
            named = {(tag, uid) for tag, _, uid in entries if tag == _USER}
            entries += [(_USER, 1, uid) for uid in uids if (_USER, uid) not in named]
            group_class = 0
            for tag, perm, _ in entries:
                if tag in (_USER, _GROUP_OBJ, _GROUP):
                    group_class |= perm
            entries = [e for e in entries if e[0] != _MASK] + [(_MASK, group_class, _NO_ID)]
            _write_acl(directory, entries)

    def _undo_acl(self, directory: Path, original: bytes | None, mode: int, uids: list[int]):
        entries = _read_acl(directory)
        if entries is None:
            return
        if original is None:
            os.removexattr(directory, _ACL_XATTR)
            os.chmod(directory, mode & 0o7777)
        else:  # keep entries that others added meanwhile; drop only ours
            kept = [e for e in entries if not (e[0] == _USER and e[2] in uids)]
            _write_acl(directory, kept)

    def undo(self) -> list[str]:
        """Take every change back (last first); return the steps that failed."""
        errors = []
        # processes first: userdel refuses a user who still runs something
        terminate(processes_of(self.uids))
        for scratch in ("/tmp", "/var/tmp", "/dev/shm"):  # then what they left outside home
            for path in _owned_by(Path(scratch), self.uids):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        for kind, what in reversed(self._undo):
            try:
                if kind == "user":
                    if _exists_user(what):
                        self.run("userdel", "-r", "-f", what)
                elif kind == "group":
                    if _exists_group(what):
                        self.run("groupdel", what)
                elif kind == "acl":
                    self._undo_acl(*what)
            except Exception as err:  # go on: every other change must still be undone
                errors.append(f"undo {kind} {what}: {err}")
        self._undo.clear()
        return errors

    def leftovers(self) -> list[str]:
        left = [f"process {pid} ({cmd})" for pid, cmd in processes_of(self.uids).items()]
        left += [f"user {name}" for name in self.users if _exists_user(name)]
        left += [f"group {name}" for name in self.groups if _exists_group(name)]
        left += [f"home /home/{name}" for name in self.users if Path("/home", name).exists()]
        left += [
            f"ACL entry for uid {uid} on {directory}"
            for directory in self.acl_dirs
            for tag, _, uid in _read_acl(directory) or []
            if tag == _USER and uid in self.uids
        ]
        for scratch in ("/tmp", "/var/tmp", "/dev/shm"):  # what their processes may leave
            left += [f"file {path}" for path in _owned_by(Path(scratch), self.uids)]
        return left


def _owned_by(directory: Path, uids: set[int]) -> list[Path]:
    found = []
    for path in directory.iterdir():
        try:
            if path.lstat().st_uid in uids:
                found.append(path)
        except FileNotFoundError:  # removed meanwhile
            continue
    return found


def _exists_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _exists_group(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True
