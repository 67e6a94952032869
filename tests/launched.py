"""A subprocess of ours (the launcher, most often) whose output a test waits on line by line,
and free ports for it to listen on."""

import os
import queue
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from launcher.processes import port_is_free

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 180.0
SHUTDOWN_SECONDS = 90.0


def unused_port() -> int:
    """A free port below the ephemeral range (32768+ on Linux): the Temporal dev server binds
    some of its own on port 0, and one of those must not take a port we are about to use."""
    while True:
        port = random.randrange(20000, 32000)
        if port not in _HANDED_OUT and port_is_free("127.0.0.1", port):
            _HANDED_OUT.add(port)
            return port


_HANDED_OUT: set[int] = set()


class Watched:
    """A subprocess whose output is read line by line on a thread, so a test can wait for a
    line with a deadline instead of sleeping."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, wanted: Callable[[str], bool], what: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no {what} within {seconds:.0f}s; output:\n{self.output}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"exited before {what}; output:\n{self.output}")
            self.lines.append(line)
            if wanted(line):
                return line

    def wait_for_line(self, text: str, seconds: float = STARTUP_SECONDS) -> None:
        self.wait_for(lambda line: line == text, repr(text), seconds)

    def wait_for_exit(self, seconds: float = SHUTDOWN_SECONDS) -> int:
        code = self.process.wait(timeout=seconds)
        while (line := self._queue.get(timeout=seconds)) is not None:
            self.lines.append(line)
        return code

    def processes(self) -> list[psutil.Process]:
        children: list[psutil.Process] = psutil.Process(self.process.pid).children(recursive=True)
        return children

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
