"""api.multipart.StreamedForm: the file part's bytes go on as the body arrives (never
collected), whatever the network chunks' boundaries, and the text fields before and after
it are kept."""

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from starlette.requests import Request

from api.multipart import StreamedForm
from core.errors import PayloadTooLarge, UnsupportedMediaType

BOUNDARY = "XyZ-boundary"


def body(*parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for name, file_name, data in parts:
        disposition = f'form-data; name="{name}"'
        if file_name is not None:
            disposition += f'; filename="{file_name}"'
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data
        out += b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


class Network:
    """An ASGI receive that hands out ``chunks`` one per call and counts them."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.received = 0

    async def __call__(self) -> dict[str, Any]:
        chunk = self.chunks[self.received]
        self.received += 1
        return {
            "type": "http.request",
            "body": chunk,
            "more_body": self.received < len(self.chunks),
        }


def request(network: Callable[[], Awaitable[dict[str, Any]]], content_type: str) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-type", content_type.encode())],
    }
    return Request(scope, network)


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def test_the_file_goes_on_before_the_body_has_arrived() -> None:
    file = bytes(range(256)) * 4096  # 1 MiB
    raw = body(("title", None, b"Big"), ("file", "big.bin", file), ("tags", None, b"a"))
    network = Network(split(raw, 64 * 1024))
    form = StreamedForm(request(network, f"multipart/form-data; boundary={BOUNDARY}"))

    assert await form.open() == "big.bin"
    assert form.fields_so_far == {"title": ["Big"]}
    digest = hashlib.sha256()
    largest = 0
    received_at_first_chunk = None
    async for chunk in form.file_chunks():
        if received_at_first_chunk is None:
            received_at_first_chunk = network.received
        largest = max(largest, len(chunk))
        digest.update(chunk)

    assert digest.digest() == hashlib.sha256(file).digest()
    assert received_at_first_chunk is not None and received_at_first_chunk <= 2
    # Never more than one network chunk at a time.
    assert largest <= 64 * 1024
    assert await form.rest() == {"title": ["Big"], "tags": ["a"]}


@pytest.mark.parametrize("size", [1, 7, 100])
async def test_chunk_boundaries_anywhere_change_nothing(size: int) -> None:
    file = b"--XyZ-boundar\r\n" * 50 + b"tail"
    raw = body(("tags", None, b"x"), ("file", "f.txt", file), ("tags", None, "ü".encode()))
    form = StreamedForm(
        request(Network(split(raw, size)), f"multipart/form-data; boundary={BOUNDARY}")
    )

    await form.open()
    received = b"".join([chunk async for chunk in form.file_chunks()])

    assert received == file
    assert await form.rest() == {"tags": ["x", "ü"]}


async def test_only_multipart_with_a_boundary_is_read() -> None:
    for content_type in ("application/json", "multipart/form-data", "text/plain; boundary=x"):
        with pytest.raises(UnsupportedMediaType):
            StreamedForm(request(Network([b""]), content_type))


async def test_a_long_field_is_refused_as_it_arrives() -> None:
    raw = body(("note", None, b"n" * 10_000), ("file", "f.txt", b"x"))
    network = Network(split(raw, 1024))
    form = StreamedForm(request(network, f"multipart/form-data; boundary={BOUNDARY}"))

    with pytest.raises(PayloadTooLarge):
        await form.open()
    assert network.received < len(network.chunks)
