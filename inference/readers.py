"""Streaming readers for JSONL, CSV and Parquet, yielding one record at a time.

Each item is ``(position, record | None, error | None)``: the line number
(JSONL), the row number counting the header as row 1 (CSV), or the row index
(Parquet), so errors name the place in the input file.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

Item = tuple[int, dict | None, str | None]


def input_format(path: str) -> str:
    if path == "-":
        return "jsonl"
    suffix = "".join(Path(path).suffixes[-2:]).lower()
    for fmt, exts in (("jsonl", (".jsonl", ".json", ".ndjson", ".jsonl.gz")), ("csv", (".csv", ".tsv")),
                      ("parquet", (".parquet", ".pq"))):
        if any(suffix.endswith(e) for e in exts):
            return fmt
    raise ValueError(f"{path}: unknown input format; use .jsonl, .csv, .tsv or .parquet (or - for JSONL on stdin)")


def read_jsonl(path: str) -> Iterator[Item]:
    f = sys.stdin.buffer if path == "-" else open(path, "rb")
    try:
        yield from jsonl_items(f)
    finally:
        if f is not sys.stdin.buffer:
            f.close()


def jsonl_items(lines: Iterable[bytes]) -> Iterator[Item]:
    """JSONL items from binary lines (a file opened in ``rb`` mode)."""
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield lineno, None, _not_utf8(exc)
            continue
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            yield lineno, None, f"invalid JSON: {exc}"
            continue
        if not isinstance(rec, dict):
            yield lineno, None, f"expected a JSON object, got {type(rec).__name__}"
            continue
        yield lineno, rec, None


def _not_utf8(exc: UnicodeDecodeError) -> str:
    return f"not UTF-8 ({exc.reason} at byte {exc.start})"


# Universal newlines as text mode with newline="" sees them: \n, \r\n and a lone \r end a line.
_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")


def _physical_lines(f: Iterable[bytes]) -> Iterator[bytes]:
    for raw in f:  # binary iteration splits on \n only
        if b"\r" in raw:
            yield from (part for part in _LONE_CR.split(raw) if part)
        else:
            yield raw


def read_csv(path: str) -> Iterator[Item]:
    delimiter = "\t" if path.lower().endswith(".tsv") else ","
    with open(path, "rb") as f:
        yield from csv_items(f, delimiter, path)


def csv_items(f: Iterable[bytes], delimiter: str = ",", where: str = "CSV input") -> Iterator[Item]:
    """CSV items from a binary file. Each physical line is decoded strictly: a
    record with a line that is not UTF-8 becomes an error naming that line."""
    csv.field_size_limit(1 << 30)  # articles can be long
    bad: dict[int, str] = {}  # physical line -> why it is not UTF-8, until its record is reached

    def lines() -> Iterator[str]:
        for lineno, raw in enumerate(_physical_lines(f), 1):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                if lineno == 1:  # field names are not a record: the whole file is unusable
                    raise ValueError(f"{where}: the header line is {_not_utf8(exc)}") from None
                bad[lineno] = _not_utf8(exc)
                yield raw.decode("utf-8", errors="replace")  # keeps the CSV parser in step

    reader = csv.DictReader(lines(), delimiter=delimiter)
    try:
        for row in reader:
            if bad:  # a line of this record (all lines read so far belong to it) is not UTF-8
                first = min(bad)
                yield first, None, bad[first]
                bad.clear()
                continue
            # line_num counts physical lines; report the record's first line
            if None in row:  # more fields than the header
                yield reader.line_num, None, "more fields than the header"
                continue
            yield reader.line_num, dict(row), None
    except csv.Error as exc:
        yield reader.line_num, None, f"malformed CSV: {exc}"


def read_parquet(path, batch_size: int = 1024, where: str | None = None) -> Iterator[Item]:
    """Rows of a Parquet file (a path or a random-access file object)."""
    where = where or str(path)
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError("reading Parquet needs pyarrow: pip install 'rasid-inference[parquet]'") from None
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ValueError(f"{where}: not a readable Parquet file ({exc})") from None
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=batch_size):
            for rec in batch.to_pylist():
                yield row, rec, None
                row += 1
    except Exception as exc:
        raise ValueError(f"{where}: Parquet data is damaged after row {row} ({exc})") from None


def read_records(path: str) -> Iterator[Item]:
    fmt = input_format(path)
    if path != "-" and not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}[fmt](path)


def dumps(rec: dict) -> str:
    """One JSON line; lone surrogates (from JSON input) are kept as escapes."""
    try:
        line = json.dumps(rec, ensure_ascii=False, default=str)
        line.encode("utf-8")
        return line
    except UnicodeEncodeError:
        return json.dumps(rec, ensure_ascii=True, default=str)
