"""The whole platform as `make dev` runs it, for the benchmarks that measure it from outside
(web_app.py, peer_n8n.py): ``python -m launcher dev`` on a fresh data directory and free
ports, read line by line until its ready banner, stopped with its process group."""

import contextlib
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


def unused_port() -> int:
    """Below the ephemeral range, where the Temporal dev server binds ports of its own."""
    from launcher.processes import port_is_free

    while True:
        port = random.randrange(20000, 32000)
        if port_is_free("127.0.0.1", port):
            return port


def read_lines(stream: IO[str] | None) -> "queue.Queue[str | None]":
    """The stream's lines as they come, on a thread; None once it ends."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in stream or ():
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def stop_process_group(process: "subprocess.Popen[str]", grace: float) -> None:
    """SIGINT (what a person's Ctrl-C sends), SIGKILL after the grace; then whatever is left
    in its process group goes too."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_platform(
    data_dir: Path, *, startup_seconds: float, env: Mapping[str, str] = {}
) -> Iterator[tuple[str, "subprocess.Popen[str]"]]:
    """``python -m launcher dev`` on a fresh ``data_dir`` (``env`` added to its settings);
    yields the API's URL and the launcher once the platform is ready."""
    from launcher.dev import READY_BANNER

    shutil.rmtree(data_dir, ignore_errors=True)
    port = unused_port()
    url = f"http://127.0.0.1:{port}"
    settings = {k: v for k, v in os.environ.items() if not k.startswith("FIRMFLOW_")}
    settings.update(
        FIRMFLOW_DATA_DIR=str(data_dir),
        FIRMFLOW_API_PORT=str(port),
        FIRMFLOW_TEMPORAL_PORT=str(unused_port()),
        FIRMFLOW_TEMPORAL_UI_PORT=str(unused_port()),
        FIRMFLOW_PUBLIC_URL=url,
        FIRMFLOW_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **env,
    )
    launched = subprocess.Popen(
        [sys.executable, "-m", "launcher", "dev"],
        cwd=ROOT,
        env=settings,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = read_lines(launched.stdout)
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise RuntimeError("the firmflow platform exited before it was ready")
            if READY_BANNER in line:
                break
        yield url, launched
    finally:
        stop_process_group(launched, 90)
