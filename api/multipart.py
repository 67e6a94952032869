"""A ``multipart/form-data`` upload read as it arrives: one file part, whose bytes go on to
the caller chunk by chunk (never whole, never spooled), and small text fields, kept.

FastAPI's ``UploadFile`` would spool the whole body to a temporary file before the route
runs: a 500 MB upload would be written twice and the route could refuse it only after. Here
python-multipart's push parser is fed from ``request.stream()`` and its callbacks collect
what each network chunk held, so memory holds one network chunk of the file at a time.

A route uses it as::

    form = StreamedForm(request)
    await form.open()                   # the fields before the file, then its part's headers
    blob = await store(form.file_chunks())
    fields = await form.rest()          # every field, those after the file too
"""

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from core.errors import BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMediaType

FILE_FIELD = "file"
# A text field is a title, a note or a tag, never a document.
MAX_FIELD_BYTES = 4096
MAX_FIELDS = 64
MAX_HEADER_BYTES = 2048

MULTIPART_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FILE_FIELD],
                "properties": {FILE_FIELD: {"type": "string", "format": "binary"}},
            },
            "encoding": {FILE_FIELD: {"contentType": "application/octet-stream"}},
        }
    },
}


def multipart_body(fields: dict[str, Any], description: str) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of an upload: the file part plus ``fields`` (a JSON
    schema's properties)."""
    content = MULTIPART_BODY["content"]["multipart/form-data"]
    schema = {**content["schema"], "properties": {**content["schema"]["properties"], **fields}}
    return {
        "requestBody": {
            **MULTIPART_BODY,
            "description": description,
            "content": {"multipart/form-data": {**content, "schema": schema}},
        }
    }


def _missing_file() -> Unprocessable:
    return Unprocessable(
        "Send the file as a part named 'file' with a file name",
        errors=[{"pointer": f"/{FILE_FIELD}", "detail": "no file part"}],
    )


class StreamedForm:
    """One request's form, parsed as the body streams in."""

    def __init__(self, request: Request) -> None:
        media_type, params = parse_options_header(request.headers.get("content-type"))
        boundary = params.get(b"boundary")
        if media_type != b"multipart/form-data" or not boundary:
            raise UnsupportedMediaType("Send the upload as multipart/form-data (with its boundary)")
        try:
            self._parser = MultipartParser(
                boundary,
                callbacks={
                    "on_part_begin": self._part_begin,
                    "on_header_field": self._header_field,
                    "on_header_value": self._header_value,
                    "on_header_end": self._header_end,
                    "on_headers_finished": self._headers_finished,
                    "on_part_data": self._part_data,
                    "on_part_end": self._part_end,
                    "on_end": self._end,
                },
                max_header_size=MAX_HEADER_BYTES,
            )
        except FormParserError as exc:
            raise BadRequest("The multipart boundary is not valid") from exc
        self._stream = request.stream().__aiter__()
        self._fields: dict[str, list[str]] = {}
        self._hname = b""
        self._hvalue = b""
        self._headers: dict[bytes, bytes] = {}
        # The current part: a field's name and bytes so far, or the file.
        self._name: str | None = None
        self._value = bytearray()
        self._in_file = False
        self._file_seen = False
        self._file_done = False
        self._pending: list[bytes] = []
        self._parts = 0
        self._ended = False
        self.file_name = ""

    # Parser callbacks: they run inside ``write`` and only record what they see.

    def _part_begin(self) -> None:
        self._headers = {}
        self._parts += 1
        if self._parts > MAX_FIELDS + 1:
            raise PayloadTooLarge(f"A form takes at most {MAX_FIELDS} fields beside the file")

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._hname.strip().lower()] = self._hvalue.strip()
        self._hname = self._hvalue = b""

    def _headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in params:
            raise BadRequest("Each part of the form needs a Content-Disposition with a name")
        name = params[b"name"].decode("utf-8", "replace")
        file_name = params.get(b"filename")
        if name == FILE_FIELD:
            if self._file_seen:
                raise Unprocessable(
                    "Send one file per request",
                    errors=[{"pointer": f"/{FILE_FIELD}", "detail": "more than one file part"}],
                )
            if not file_name:
                raise _missing_file()
            self._file_seen = self._in_file = True
            self.file_name = file_name.decode("utf-8", "replace")
        else:
            self._name = name
            self._value = bytearray()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(bytes(data[start:end]))
            return
        if len(self._value) + end - start > MAX_FIELD_BYTES:
            raise PayloadTooLarge(f"A form field takes at most {MAX_FIELD_BYTES} bytes")
        self._value += data[start:end]

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file = False
            self._file_done = True
            return
        if self._name is None:
            return
        try:
            value = self._value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unprocessable(
                "Form fields are UTF-8 text",
                errors=[{"pointer": f"/{self._name}", "detail": "not UTF-8"}],
            ) from exc
        self._fields.setdefault(self._name, []).append(value)
        self._name = None

    def _end(self) -> None:
        self._ended = True

    async def _feed(self) -> bool:
        """Parse the next network chunk; False once the body is over."""
        try:
            chunk = await anext(self._stream)
        except StopAsyncIteration:
            if not self._ended:
                raise BadRequest("The form ended before its closing boundary") from None
            return False
        if chunk:
            try:
                self._parser.write(chunk)
            except FormParserError as exc:
                raise BadRequest("The body is not valid multipart/form-data") from exc
        return True

    async def open(self) -> str:
        """Read up to the file part's bytes: the fields before it and its headers. Returns
        the file's name as the client gave it; a 422 when the form has no file."""
        while not self._file_seen:
            if not await self._feed():
                raise _missing_file()
        return self.file_name

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive, after ``open``."""
        while True:
            while self._pending:
                yield self._pending.pop(0)
            if self._file_done:
                return
            if not await self._feed():
                raise BadRequest("The form ended inside the file")

    async def rest(self) -> dict[str, list[str]]:
        """Every text field of the form, by name (a repeated field's values in order),
        after reading the body to its end."""
        while await self._feed():
            pass
        return self._fields

    @property
    def fields_so_far(self) -> dict[str, list[str]]:
        """The text fields read so far (before ``open`` returns: those before the file)."""
        return self._fields
