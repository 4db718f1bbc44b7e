"""Cut a landed text file into numbered records, a part at a time, so that a file of any size is loaded
in bounded memory: the Bronze loader stages one part while the next is still unread.

A part is whole lines (each with its line break) of about PART_BYTES. CSV records that span lines (a
quoted field holding line breaks) are kept in one part: a part that ends inside such a record gives its
lines back to the next one. Numbering rules are the loader's (medallion_platform/bronze/loader.py).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa

# About this much text is staged at a time.
PART_BYTES = 64 << 20
# A CSV record whose quoted field holds line breaks may span at most this much; a quote left open longer
# is unterminated (its line is rejected alone), so one stray quote cannot make a part grow without end.
MAX_RECORD_BYTES = 64 << 20
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Lines:
    """Consecutive lines of a file: line i is data[offsets[i]:offsets[i+1]], numbered first_number + i."""

    data: bytes
    offsets: np.ndarray
    first_number: int

    @classmethod
    def split(cls, data: bytes, first_number: int) -> "Lines":
        """Newlines found by numpy, a block at a time, which keeps the temporaries small."""
        buffer, block = np.frombuffer(data, np.uint8), 1 << 24
        breaks = [np.flatnonzero(buffer[at:at + block] == 10) + at + 1 for at in range(0, len(buffer), block)]
        ends = np.concatenate([np.zeros(0, np.int64), *breaks]).astype(np.int64)
        if not len(ends) or ends[-1] != len(buffer):
            ends = np.append(ends, len(buffer)) if len(buffer) else ends
        return cls(data, np.concatenate([[0], ends]).astype(np.int64), first_number)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def head(self, count: int) -> "Lines":
        return Lines(self.data[:self.offsets[count]], self.offsets[:count + 1], self.first_number)

    def text(self, i: int) -> str | None:
        """Line i without its line break, or None if its bytes are not UTF-8."""
        try:
            return self.data[self.offsets[i]:self.offsets[i + 1]].decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            return None

    def to_arrow(self) -> pa.Table:
        """`(n, b, k)`: the line's number, its bytes with the line break (one Arrow array over the bytes
        themselves: no copy, no Python object per line), and how many of them precede the break."""
        buffer = np.frombuffer(self.data, np.uint8)
        lengths = np.diff(self.offsets)
        last = np.maximum(self.offsets[1:] - 1, 0)
        newline = (lengths > 0) & (buffer[last] == 10) if len(buffer) else np.zeros(len(self), bool)
        carriage = newline & (lengths > 1) & (buffer[np.maximum(last - 1, 0)] == 13)
        records = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), len(self), [None, pa.py_buffer(self.offsets), pa.py_buffer(self.data)])
        return pa.table({"n": np.arange(self.first_number, self.first_number + len(self)),
                         "b": records, "k": lengths - newline - carriage})

    def odd_quote_lines(self) -> np.ndarray:
        """Indexes of the lines with an odd number of double quotes: each opens or closes a quoted field."""
        quotes = np.flatnonzero(np.frombuffer(self.data, np.uint8) == 34)
        per_line = np.bincount(np.searchsorted(self.offsets, quotes, side="right") - 1, minlength=len(self))
        return np.flatnonzero(per_line % 2 == 1)


class PartReader:
    """Whole lines from a stream, about PART_BYTES at a time, numbered on from `first_number`."""

    def __init__(self, stream: BinaryIO, first_number: int, part_bytes: int = PART_BYTES):
        self._stream, self.part_bytes = stream, part_bytes
        self._pending, self._next_number, self.at_end = b"", first_number, False

    def parts(self) -> Iterator[Lines]:
        """A byte-order mark at the start of the file is no part of its first record."""
        at_start = True
        while not self.at_end:
            block = self._stream.read(self.part_bytes)
            data, self.at_end = self._pending + block, not block
            if at_start and len(data) < len(BOM) and not self.at_end:
                self._pending = data
                continue
            if at_start:
                data, at_start = data.removeprefix(BOM), False
            cut = len(data) if self.at_end else data.rfind(b"\n") + 1
            if cut == 0:  # a line longer than a part: read on
                self._pending = data
                continue
            self._pending = data[cut:]
            lines = Lines.split(data[:cut], self._next_number)
            self._next_number += len(lines)
            if len(lines):
                yield lines

    def give_back(self, lines: Lines, index: int) -> Lines:
        """Lines from `index` on are read again at the start of the next part; the rest is returned."""
        self._pending = lines.data[lines.offsets[index]:] + self._pending
        self._next_number = lines.first_number + index
        return lines.head(index)

    def rest(self) -> bytes:
        """Everything not yet returned as a part (for formats that cannot be cut, a JSON array)."""
        data, self._pending, self.at_end = self._pending + self._stream.read(), b"", True
        return data


# --- CSV ---

# One CSV field, after the comma that ends the field before it (the record is read with a comma put in
# front). A quoted field doubles its quotes and may hold commas and line breaks; an unquoted one has no
# quote. The same expressions split records in DuckDB (RE2) and check a multi-line record here.
CSV_FIELD = r',("(?:[^"]|"")*"|[^,"]*)'
CSV_RECORD = re.compile(f"(?:{CSV_FIELD})+")
UNTERMINATED_QUOTE = "unparseable CSV line: UNTERMINATED QUOTE"


def csv_header(data: bytes) -> list[str]:
    """The header row of a CSV file (its first line), or ValueError if it has none or repeats a name."""
    end = data.find(b"\n")
    first_line = data[:end if end >= 0 else len(data)].decode("utf-8-sig", errors="replace").rstrip("\r")
    header = next(csv.reader([first_line]), [])
    if not header:
        raise ValueError("CSV file is empty: no header row")
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise ValueError(f"CSV header repeats column(s) {', '.join(duplicated)}")
    return header


def _csv_fields(text: str) -> int | None:
    """How many fields the text has as one CSV record, or None if it is not one."""
    if not CSV_RECORD.fullmatch("," + text):
        return None
    return len(re.findall(CSV_FIELD, "," + text))


@dataclass(frozen=True)
class MultilineDecision:
    """`rows` (n, record text, error, continuation): one per line decided here. `undecided`: the index of
    a line opening a quoted field that no later line of the part closes, else None."""

    rows: list[tuple[int, str | None, str | None, bool]]
    undecided: int | None


def csv_multiline(lines: Lines, width: int) -> MultilineDecision:
    """A line with an odd number of quotes opens a quoted field. With the lines up to the next such line
    it is one record, if that is a CSV record of the header's width; otherwise its quote is never closed
    and the line alone is rejected, so the records after it still load. Line 0 (the header) is no record."""
    odd = [int(i) for i in lines.odd_quote_lines() if lines.first_number + i > 0]
    rows: list[tuple[int, str | None, str | None, bool]] = []
    joined_to, undecided = -1, None
    for first, last in zip(odd, odd[1:] + [None]):
        if first <= joined_to or lines.text(first) is None:
            continue
        number = lines.first_number + first
        if last is None:
            undecided = first
        else:
            texts = [lines.text(i) for i in range(first, last + 1)]
            if None not in texts and _csv_fields("\n".join(texts)) == width:
                rows.append((number, "\n".join(texts), None, False))
                rows += [(lines.first_number + i, None, None, True) for i in range(first + 1, last + 1)]
                joined_to = last
                continue
        rows.append((number, None, UNTERMINATED_QUOTE, False))
    return MultilineDecision(rows, undecided)


def multiline_table(rows: list[tuple[int, str | None, str | None, bool]]) -> pa.Table:
    types = {"n": pa.int64(), "text": pa.string(), "error": pa.string(), "continuation": pa.bool_()}
    return pa.table({name: pa.array([row[i] for row in rows], type_) for i, (name, type_) in enumerate(types.items())})


# --- JSON ---

NOT_JSON = "neither a JSON array nor JSON lines: it does not start with [ and no line starts with {"
JSON_ARRAY_START = re.compile(rb"[ \t\r\n]*\[")
JSON_OBJECT_LINE = re.compile(rb"(?m)^[ \t]*\{")


def json_array_elements(data: bytes) -> pa.LargeBinaryArray:
    """Each element's bytes, the file being one JSON array, or ValueError saying why it is not. Bytes
    that are not UTF-8 are carried through (surrogateescape), so such an element is rejected alone."""
    text = data.decode("utf-8", errors="surrogateescape")
    decoder, blank = json.JSONDecoder(), re.compile(r"[ \t\r\n]*")
    at = blank.match(text, text.index("[") + 1).end()
    elements: list[bytes] = []
    try:
        while not text.startswith("]", at) or elements:
            _, end = decoder.raw_decode(text, at)
            elements.append(text[at:end].encode("utf-8", errors="surrogateescape"))
            at = blank.match(text, end).end()
            if text.startswith(",", at):
                at = blank.match(text, at + 1).end()
            elif text.startswith("]", at):
                break
            else:
                raise ValueError(f"expected , or ] at character {at}")
    except ValueError as error:
        raise ValueError(f"not one JSON array: {str(error).splitlines()[0]}") from None
    if blank.match(text, at + 1).end() != len(text):
        raise ValueError(f"not one JSON array: text after its end at character {at + 1}")
    return pa.array(elements, pa.large_binary())
