"""Reading a CSV as a stream: data rows with their line numbers, from bytes or a spooled file,
without ever holding the whole file as text; the file's own errors (not UTF-8, broken quoting)
as a 422 naming them."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from .canonical import invalid

_LOC: list[str | int] = ["body", "file"]
CHUNK_BYTES = 1 << 20


class Rows:
    """The data rows of a CSV (blank lines skipped), each with its line number, and errors of
    the file itself (not UTF-8, malformed quoting) turned into a 422 naming them."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.stream = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
        self.reader = csv.reader(self.stream, strict=True)

    def detach(self) -> None:
        """Let go of the file without closing it (to read it again from the start)."""
        self.stream.detach()

    def __iter__(self) -> Iterator[tuple[list[str], int]]:
        try:
            for row in self.reader:
                if row:
                    yield row, self.reader.line_num
        except csv.Error as exc:
            raise invalid(_LOC, f"the CSV cannot be read: {exc}") from None
        except UnicodeDecodeError:
            raise _not_utf8(self.source) from None

    def header(self) -> list[str] | None:
        try:
            return next(self.reader, None)
        except csv.Error as exc:
            raise invalid(_LOC, f"the CSV cannot be read: {exc}") from None
        except UnicodeDecodeError:
            raise _not_utf8(self.source) from None


def _not_utf8(source: BinaryIO) -> Exception:
    """The error naming the first byte that is not UTF-8 (found again, a chunk at a time)."""
    source.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        while chunk := source.read(CHUNK_BYTES):
            decoder.decode(chunk)
            offset += len(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        # (a character split across two chunks is reported at the chunk's start: close enough)
        where = max(0, offset + exc.start - len(exc.object) + len(chunk))
        return invalid(_LOC, f"the file is not UTF-8 text (bad byte at offset {where}); save "
                             "the CSV as UTF-8")
    return invalid(_LOC, "the file is not UTF-8 text; save the CSV as UTF-8")


def line_bound(source: BinaryIO) -> int:
    """An upper bound of the file's rows: its newlines + 1 (counted a chunk at a time)."""
    source.seek(0)
    lines = 1
    while chunk := source.read(CHUNK_BYTES):
        lines += chunk.count(b"\n")
    source.seek(0)
    return lines


def is_blank(source: BinaryIO) -> bool:
    source.seek(0)
    while chunk := source.read(CHUNK_BYTES):
        if not chunk.isspace():
            source.seek(0)
            return False
    return True
