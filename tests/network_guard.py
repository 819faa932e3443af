"""A network guard for tests: every socket connect and name lookup is recorded and refused.

In-process, `guarded()` patches the socket module; for a real process, `install_sitecustomize(folder)` writes a
sitecustomize.py that does the same at interpreter start (put `folder` on PYTHONPATH and set LOG_VARIABLE).
Local Unix sockets are recorded but allowed: they cannot leave the machine.

Native libraries open sockets without Python's socket module (onnxruntime's telemetry client looked up its
collector from C++), so a real process is also run under strace where it can trace (`strace_prefix`), and
`traced_attempts` lists every connect or send to an address off this machine.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

LOG_VARIABLE = "TRIAGE_NETWORK_GUARD_LOG"

SITECUSTOMIZE = '''"""Network guard (tests/network_guard.py): records every connect or lookup to $%(var)s and refuses it."""

import json
import os
import socket

_LOG = os.environ.get("%(var)s")


def _record(kind, detail):
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"kind": kind, "detail": repr(detail)}) + "\\n")


def _guarded(original, kind):
    def call(self, *args):
        if self.family == getattr(socket, "AF_UNIX", None):
            _record(kind + " (unix)", args)
            return original(self, *args)
        _record(kind, args)
        raise OSError("network guard: %%s refused" %% kind)

    return call


def _lookup(*args, **kwargs):
    _record("getaddrinfo", args)
    raise socket.gaierror("network guard: lookup of %%r refused" %% (args[0] if args else None,))


if _LOG:
    socket.socket.connect = _guarded(socket.socket.connect, "connect")
    socket.socket.connect_ex = _guarded(socket.socket.connect_ex, "connect_ex")
    socket.socket.sendto = _guarded(socket.socket.sendto, "sendto")
    socket.getaddrinfo = _lookup
    socket.gethostbyname = lambda host: _lookup(host)
''' % {"var": LOG_VARIABLE}


def install_sitecustomize(folder: Path) -> Path:
    """Write the guard as `folder/sitecustomize.py`; returns `folder`, for PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    return folder


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def network_attempts(path: Path) -> list[dict]:
    """The logged attempts that could have left the machine (everything but Unix sockets)."""
    return [entry for entry in read_log(path) if not entry["kind"].endswith("(unix)")]


@contextmanager
def guarded(monkeypatch) -> Iterator[list[tuple[str, str]]]:
    """Patch the socket module in this process; yields the list of refused attempts, (kind, detail)."""
    attempts: list[tuple[str, str]] = []

    def refuse(kind: str, original=None):
        def call(self, *args):
            if original is not None and self.family == getattr(socket, "AF_UNIX", None):
                return original(self, *args)
            attempts.append((kind, repr(args)))
            raise OSError(f"network guard: {kind} refused")

        return call

    def lookup(*args, **kwargs):
        attempts.append(("getaddrinfo", repr(args)))
        raise socket.gaierror("network guard: lookup refused")

    def create_connection(address, *args, **kwargs):
        attempts.append(("create_connection", repr(address)))
        raise OSError("network guard: create_connection refused")

    monkeypatch.setattr(socket.socket, "connect", refuse("connect", socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex", socket.socket.connect_ex))
    monkeypatch.setattr(socket.socket, "sendto", refuse("sendto"))
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    yield attempts


_NETWORK_SYSCALLS = "trace=connect,sendto,sendmsg,sendmmsg"
_LOOPBACK = re.compile(r'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|inet_pton\(AF_INET6, "::ffff:127\.')


def strace_prefix(log: Path) -> list[str] | None:
    """A command prefix that records the network system calls of a process and its children, or None where
    strace is missing or not allowed to trace (some CI sandboxes forbid ptrace)."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    probe = subprocess.run([strace, "-f", "-qq", "-e", _NETWORK_SYSCALLS, "-o", "/dev/null", "true"], capture_output=True)
    if probe.returncode != 0:
        return None
    return [strace, "-f", "-qq", "-e", _NETWORK_SYSCALLS, "-o", str(log)]


def traced_attempts(log: Path) -> list[str]:
    """The traced calls that name an IPv4 or IPv6 address other than loopback: a DNS query counts, as it leaks."""
    if not log.exists():
        return []
    return [line for line in log.read_text(errors="replace").splitlines() if "AF_INET" in line and not _LOOPBACK.search(line)]
