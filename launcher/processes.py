"""The launcher's children: starting them in their own process group, stopping them in order,
free ports, and waiting for a piece to be ready against a deadline."""

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# The repository: children run from here, and the worker is its worker.py.
ROOT = Path(__file__).resolve().parent.parent


class LaunchError(Exception):
    """Startup cannot go on; the message says what to do."""


class Stopped(Exception):
    """Ctrl-C or SIGTERM arrived."""


def say(message: str) -> None:
    print(message, flush=True)


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _die_with_parent() -> None:
    # If the launcher is killed outright (kill -9), the kernel still stops its children.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process

    @property
    def exited(self) -> bool:
        return self.process.returncode is not None

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """SIGINT (every child shuts down gracefully on it), SIGKILL after the grace; then
        whatever the child left in its process group is killed, so nothing is orphaned."""
        if not self.exited:
            say(f"Stopping {self.name}…")
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), grace_seconds)
            except TimeoutError:
                say(f"{self.name} did not stop within {grace_seconds:.0f}s; killing it")
                self._signal_group(signal.SIGKILL)
                await self.process.wait()
        self._signal_group(signal.SIGKILL)


async def spawn(
    name: str, argv: list[str], env: Mapping[str, str], stdout: IO[Any] | None = None
) -> Child:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=ROOT,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=stdout,
        stderr=asyncio.subprocess.STDOUT if stdout is not None else None,
        # Own process group: the terminal's Ctrl-C reaches only the launcher, which then
        # stops the children in order (API, worker, Temporal) instead of all at once.
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    return Child(name, process)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def require_free_port(host: str, port: int, what: str, variable: str) -> None:
    if not port_is_free(host, port):
        raise LaunchError(
            f"Port {port} ({what}) is already in use — is another `make dev` running? "
            f"Stop it, or choose another port with {variable}."
        )


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    @property
    def remaining(self) -> float:
        return self._end - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining <= 0


# Between two probes; the deadline, not this interval, bounds the wait.
PROBE_INTERVAL = 0.2


async def next_probe(
    deadline: Deadline, what: str, watch: list[Child], stop: asyncio.Event
) -> None:
    """Raise if waiting for ``what`` should end, else pause until the next probe."""
    if stop.is_set():
        raise Stopped
    for child in watch:
        if child.exited:
            raise LaunchError(
                f"{child.name} exited (code {child.process.returncode}) during startup"
            )
    if deadline.expired:
        raise LaunchError(f"{what} was not ready within {deadline.seconds:.0f}s")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), PROBE_INTERVAL)
