"""Run untrusted Python in a separate, limited process — never `exec` in the server process.

The child is `python -I` (isolated: no site, no env-driven imports) in a fresh temporary
directory with a minimal environment, under rlimits for CPU time, address space, file
size, open files and process count, in its own session so the whole process group is
killed at the wall-clock timeout. Output is capped. Network: a new network namespace
(`unshare --net`, root or user namespaces) when the kernel allows; otherwise the child
replaces `socket.socket` before running the code, and the result says which was used.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

# Prepended to the user's code when no network namespace is available.
_SOCKET_BLOCK = (
    "import socket as _s\n"
    "def _no_net(*a, **k):\n    raise PermissionError('network access is disabled in the sandbox')\n"
    "_s.socket = _no_net; _s.create_connection = _no_net; _s.socketpair = _no_net\n"
    "del _s, _no_net\n"
)


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed run."""

    wall_time_s: float = 10.0
    cpu_time_s: int = 5
    memory_bytes: int = 512 * 1024 * 1024
    file_size_bytes: int = 1024 * 1024
    max_processes: int = 64
    max_open_files: int = 64
    max_output_bytes: int = 64 * 1024


@dataclass
class SandboxResult:
    ok: bool
    exit_code: int | None
    stdout: str
    stderr: str
    error: str = ""
    timed_out: bool = False
    network_isolation: str = ""
    truncated: bool = False
    limits: dict = field(default_factory=dict)


@lru_cache(maxsize=1)
def network_isolation() -> str:
    """'namespace' if `unshare --net` works here, else 'socket-block'."""
    unshare = shutil.which("unshare")
    if unshare:
        for args in ([unshare, "--net", "true"], [unshare, "--user", "--map-root-user", "--net", "true"]):
            try:
                if subprocess.run(args, capture_output=True, timeout=5).returncode == 0:
                    return "namespace" if "--user" not in args else "user-namespace"
            except (OSError, subprocess.TimeoutExpired):
                continue
    return "socket-block"


NOBODY = 65534


def interpreter(unprivileged: bool) -> str:
    """The child's Python. `-I` needs no site-packages, so when the child runs as nobody a
    system interpreter it can execute is used (a venv under /root is not reachable)."""
    if not unprivileged:
        return sys.executable
    for candidate in (sys._base_executable, shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")):
        if candidate and _world_executable(candidate):
            return candidate
    raise RuntimeError("no Python interpreter executable by an unprivileged user was found for the sandbox")


def _world_executable(path: str) -> bool:
    real = os.path.realpath(path)
    parts = real.split(os.sep)
    dirs = [os.sep.join(parts[:i]) or os.sep for i in range(1, len(parts))]
    return all(os.stat(d).st_mode & 0o001 for d in dirs) and bool(os.stat(real).st_mode & 0o001)


def _limit(limits: SandboxLimits, drop_to_nobody: bool):
    def apply() -> None:
        os.setsid()  # own process group: the timeout kills every descendant
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_time_s, limits.cpu_time_s))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_bytes, limits.file_size_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if drop_to_nobody:  # root ignores RLIMIT_NPROC and file permissions
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)

    return apply


def run_python(code: str, limits: SandboxLimits | None = None) -> SandboxResult:
    limits = limits or SandboxLimits()
    isolation = network_isolation()
    as_root = os.geteuid() == 0
    prefix = {"namespace": ["unshare", "--net"] + (["--setgid", str(NOBODY), "--setuid", str(NOBODY)] if as_root else []),
              "user-namespace": ["unshare", "--user", "--map-root-user", "--net"]}.get(isolation, [])
    source = code if prefix else _SOCKET_BLOCK + code
    with tempfile.TemporaryDirectory(prefix="vetted-rag-sandbox-") as workdir:
        if as_root:
            os.chown(workdir, NOBODY, NOBODY)
        env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.Popen(
            prefix + [interpreter(as_root), "-I", "-c", source], cwd=workdir, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=_limit(limits, as_root and isolation != "namespace"), close_fds=True,
        )
        timed_out = False
        try:
            out, err = proc.communicate(timeout=limits.wall_time_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            out, err = proc.communicate()
        finally:
            _kill_group(proc.pid)  # stragglers that escaped the parent, e.g. a forked child
    cap = limits.max_output_bytes
    truncated = len(out) > cap or len(err) > cap
    stdout, stderr = out[:cap].decode("utf-8", "replace"), err[:cap].decode("utf-8", "replace")
    code_ = proc.returncode
    if timed_out:
        error = f"timed out after {limits.wall_time_s:g}s"
    elif code_ and code_ < 0:
        error = f"killed by signal {signal.Signals(-code_).name} (a resource limit was hit)"
    elif code_:
        error = (stderr.strip().splitlines() or [f"exit code {code_}"])[-1]
    else:
        error = ""
    return SandboxResult(ok=not error, exit_code=code_, stdout=stdout, stderr=stderr, error=error,
                         timed_out=timed_out, network_isolation=isolation, truncated=truncated,
                         limits=limits.__dict__.copy())


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class CodeInput(BaseModel):
    code: str = Field(description="Python source to run in the sandbox")


sandbox_tool = StructuredTool.from_function(
    func=lambda code: run_python(code).__dict__, name="run_python_sandboxed", args_schema=CodeInput,
    description="Run Python code in an isolated, resource-limited subprocess and return its outcome.",
)
