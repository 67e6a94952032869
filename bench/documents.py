"""Documents: upload throughput (MB/s) through the real ``POST /v1/documents`` beside a plain
copy of the same bytes on the same disk in the same run (ratio; goal >= 0.5), and the peak
RSS of the API process while it takes a 500 MB upload (goal < 100 MB); then the search
figures (p50/p99 at 100,000 documents), which bench/documents_search.py measures.

    python bench/documents.py [--megabytes 500] [--rounds 2] [--no-search]

Everything lives under .data/bench-documents (removed first): the source files, the plain
copies, and the API's filesystem storage (FIRMFLOW_DATA_DIR, so files/ under it). Embedded
Postgres under .data/bench-postgres with a fresh database of its own. The API runs as its own
uvicorn process on a free loopback port (no Temporal: the text extraction an upload queues
stays in the outbox), so its memory is read from /proc/<pid>/status: VmRSS sampled every
10 ms during the upload, and VmHWM (the kernel's high-water mark) after it.

Each round writes a fresh source file (a PDF header, then random bytes, so every upload is a
new blob: nothing is deduplicated away), copies it with a 1 MiB read/write loop (what any
program copying a file through user space does; ``cp`` may use copy_file_range and copy no
bytes at all), then uploads it as a multipart form streamed from the file a MiB at a time. The two
are timed alternately, so a change in what else runs weighs on both.
"""

import argparse
import asyncio
import os
import shutil
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from api_clients import create_firm, prepare_database

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data" / "bench-documents"
DATABASE = "firmflow_bench_documents"
MB = 1_000_000
MIB = 1024 * 1024
COPY_BUFFER = MIB
RSS_GOAL_MB = 100
RATIO_GOAL = 0.5
# Seconds one upload may take: minutes even on a crowded 2-core machine.
UPLOAD_TIMEOUT = 600.0


def write_source(path: Path, size: int, round_number: int) -> None:
    """A PDF header (the sniffed type) and random bytes, written a MiB at a time."""
    with path.open("wb") as out:
        out.write(f"%PDF-1.7\n% firmflow bench round {round_number}\n".encode())
        remaining = size - out.tell()
        while remaining > 0:
            out.write(os.urandom(min(MIB, remaining)))
            remaining -= MIB
        out.flush()
        os.fsync(out.fileno())


def plain_copy(source: Path, target: Path) -> float:
    """Seconds to copy ``source`` to ``target`` through a 1 MiB buffer."""
    started = time.perf_counter()
    with source.open("rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, COPY_BUFFER)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def status_kib(pid: int, field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of /proc/<pid>/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


class RssWatch:
    """VmRSS of a process sampled on a thread every 10 ms while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak_kib = max(self.peak_kib, status_kib(self.pid, "VmRSS"))

    def __enter__(self) -> "RssWatch":
        self.peak_kib = status_kib(self.pid, "VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Api:
    base: str
    pid: int


@asynccontextmanager
async def api_process(app_url: str) -> AsyncIterator[Api]:
    """The real app (``api.app:create_app``) under uvicorn, one process, storing files under
    DATA_DIR/files; yields once ``/health`` answers."""
    from launcher.processes import Deadline, free_port, spawn

    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FIRMFLOW_")},
        "FIRMFLOW_DATABASE_URL": app_url,
        "FIRMFLOW_DATA_DIR": str(DATA_DIR),
        "FIRMFLOW_STORAGE_BACKEND": "filesystem",
        "FIRMFLOW_LOG_LEVEL": "WARNING",
    }
    argv = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    server = await spawn("bench API", [*argv, "--log-level", "warning"], env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = Deadline(60)
        async with httpx.AsyncClient(base_url=base, timeout=2) as http:
            while True:
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    if server.exited or deadline.expired:
                        raise RuntimeError("the bench API did not start") from None
                    await asyncio.sleep(0.1)
        yield Api(base=base, pid=server.process.pid)
    finally:
        await server.stop()


BOUNDARY = "firmflow-bench-boundary-7d1f0c"


def multipart_parts(title: str, file_name: str) -> tuple[bytes, bytes]:
    """What goes before and after the file's bytes in the form (title, then the file)."""
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="title"\r\n\r\n'
        f"{title}\r\n"
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


async def form_body(source: Path) -> AsyncIterator[bytes]:
    """The multipart body streamed from the file a MiB at a time: the client's own cost
    stays small beside the server's (httpx's multipart encoder reads 64 KiB pieces)."""
    head, tail = multipart_parts(source.name, source.name)
    yield head
    with source.open("rb") as file:
        while chunk := file.read(MIB):
            yield chunk
    yield tail


async def upload(http: httpx.AsyncClient, token: str, source: Path, size: int) -> float:
    """Seconds for ``POST /v1/documents`` to take the ``size`` bytes of ``source`` and
    answer 201."""
    head, tail = multipart_parts(source.name, source.name)
    length = len(head) + size + len(tail)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(length),
    }
    started = time.perf_counter()
    response = await http.post("/v1/documents", headers=headers, content=form_body(source))
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"upload answered {response.status_code}: {response.text[:300]}")
    return elapsed


def rate(size: int, seconds: float) -> float:
    return size / MB / seconds


async def upload_figures(megabytes: int, rounds: int) -> None:
    size = megabytes * MB
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    DATA_DIR.mkdir(parents=True)
    print(f"documents: preparing a database and a firm; {rounds} x {megabytes} MB…", flush=True)
    urls = await asyncio.to_thread(prepare_database, DATABASE)
    _, token = await create_firm(urls.app)
    copies: list[float] = []
    uploads: list[float] = []
    peaks_kib: list[int] = []
    async with api_process(urls.app) as api:
        idle_kib = status_kib(api.pid, "VmRSS")
        async with httpx.AsyncClient(base_url=api.base, timeout=UPLOAD_TIMEOUT) as http:
            for number in range(1, rounds + 1):
                source = DATA_DIR / f"source-{number}.pdf"
                await asyncio.to_thread(write_source, source, size, number)
                copies.append(await asyncio.to_thread(plain_copy, source, DATA_DIR / "copy.pdf"))
                with RssWatch(api.pid) as watch:
                    uploads.append(await upload(http, token, source, size))
                peaks_kib.append(watch.peak_kib)
                source.unlink()
        high_water_kib = status_kib(api.pid, "VmHWM")

    copy_rate = rate(size, min(copies))
    upload_rate = rate(size, min(uploads))
    print(
        f"documents upload: {megabytes} MB each, best of {rounds}; load average"
        f" {' '.join(f'{avg:.2f}' for avg in os.getloadavg())} (others running move the figures)"
    )
    each = ", ".join(f"{rate(size, s):.0f}" for s in copies)
    print(f"  plain copy (1 MiB read/write):  {copy_rate:7.1f} MB/s  (rounds: {each})")
    each = ", ".join(f"{rate(size, s):.0f}" for s in uploads)
    print(f"  POST /v1/documents (multipart): {upload_rate:7.1f} MB/s  (rounds: {each})")
    print(f"  ratio upload/copy: {upload_rate / copy_rate:.2f} (goal >= {RATIO_GOAL})")
    peak_mib = max(peaks_kib) / 1024
    print(
        f"  API process RSS: idle {idle_kib / 1024:.0f} MiB, peak during the uploads"
        f" {peak_mib:.0f} MiB (growth {peak_mib - idle_kib / 1024:.0f} MiB),"
        f" VmHWM {high_water_kib / 1024:.0f} MiB (goal < {RSS_GOAL_MB} MB)",
        flush=True,
    )


# --- Search figures -------------------------------------------------------------------------
# bench/documents_search.py (the search part) measures p50/p99 at 100,000 documents; the
# section below runs it when it is there, so `bench/documents.py` prints all the documents
# figures in one run.


async def search_figures() -> None:
    """The search benchmark's figures (bench/documents_search.py's ``run``)."""
    if not (Path(__file__).parent / "documents_search.py").exists():
        print("documents search: bench/documents_search.py is not there yet", flush=True)
        return
    import documents_search

    await documents_search.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-search", action="store_true", help="only the upload figures")
    args = parser.parse_args()
    asyncio.run(upload_figures(args.megabytes, args.rounds))
    if not args.no_search:
        asyncio.run(search_figures())


if __name__ == "__main__":
    main()
