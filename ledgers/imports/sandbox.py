"""Reading a workbook with python-calamine in a child process with a memory and CPU limit.

calamine holds a whole sheet in memory as a dense grid and copies a shared string into every
cell that uses it, so a few KB of .xlsx, .xls, .xlsb or .ods can ask for gigabytes; when an
allocation fails, Rust aborts the whole process. Here that process is a child with its own
limits (`IMPORT_READER_MEMORY_MB`, `IMPORT_READER_SECONDS`): a bomb kills the child, and the
upload is refused with a message, whatever the format.

Run as a script (`python sandbox.py KIND ROW_CAP MEMORY_MB SECONDS`, the file on stdin), it writes a pickled
list of sheets to stdout, the saved ("active") sheet first, each a list of (row number as the
user sees it, values) for the rows with something in them, at most ROW_CAP rows a sheet. It
imports no Django and nothing of Liudong.
"""

import html
import io
import pickle
import re
import resource
import subprocess
import sys
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

PROTECTED, BROKEN = "protected", "broken"  # what the child says when it cannot read the file

# The old streaming reader gave every date cell as a datetime; calamine gives a date for a
# whole day, a time under one day and a timedelta for [h]:mm durations. Make them datetimes.
EPOCH = datetime(1899, 12, 30)
AS_DATETIME = {
    date: lambda value: datetime(value.year, value.month, value.day),
    time: lambda value: datetime.combine(EPOCH.date(), value),
    timedelta: lambda value: EPOCH + value,
}
EXACT = 1e15  # Excel keeps 15 significant digits: whole numbers below that are exact
ESCAPED_CHARACTER = re.compile(r"_x([0-9A-Fa-f]{4})_")
ESCAPED_SURROGATES = re.compile(r"(?:_x[Dd][89A-Fa-f][0-9A-Fa-f]{2}_)+")
ACTIVE = {  # where a workbook says which sheet it was saved on
    "xlsx": ("xl/workbook.xml", rb'<(?:\w+:)?workbookView\b[^>]*\bactiveTab="(\d+)"'),
    "ods": ("settings.xml", rb'config:name="ActiveTable"[^>]*>([^<]*)<'),
}


class SandboxFailed(Exception):
    """The child could not read the file: `reason` is PROTECTED, BROKEN or "too_big"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def read_sheets(
    content: bytes, *, kind: str, row_cap: int, memory_mb: int, seconds: int
) -> list[list[tuple[int, tuple]]]:
    """The workbook's worksheets as rows, read in a limited child process."""
    try:
        done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
            [
                sys.executable,
                "-I",
                str(Path(__file__)),
                kind,
                *map(str, (row_cap, memory_mb, seconds)),
            ],
            input=content,
            capture_output=True,
            timeout=seconds * 2,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise SandboxFailed("too_big") from error
    if done.returncode == 0:
        return pickle.loads(done.stdout)  # noqa: S301 - our own child's output
    reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
    if reason[0] in (PROTECTED, BROKEN):
        raise SandboxFailed(reason[0])
    raise SandboxFailed("too_big")  # killed: out of memory (abort) or out of CPU time


# --- the child ---------------------------------------------------------------------------------


def _unescape(text: str) -> str:
    """An OOXML text with _xHHHH_ escapes, decoded; NUL and lone surrogates dropped."""
    text = ESCAPED_CHARACTER.sub(lambda m: chr(int(m.group(1), 16)), text).replace("\x00", "")
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")


def _clean(text: str) -> str:
    """calamine decodes _xHHHH_ but keeps _x0000_ as NUL and escaped surrogates as text."""
    text = text.replace("\x00", "")
    return ESCAPED_SURROGATES.sub(lambda m: _unescape(m.group()), text)


def _rows(sheet, row_cap: int):
    """Values as the old streaming reader gave them: None for an empty cell, str, bool, int for
    a whole number (a phone number 13800138000), float, and datetime for any date or time."""
    if sheet.start is None:  # nothing in it (and calamine's iterator needs a start)
        return []
    pad = (None,) * sheet.start[1]  # its rows begin at the first used column, not at A
    rows = []
    # One object for each distinct text: pickle then sends a text repeated down a column (the
    # branch, a destination) once and a reference after, so the parent reads far less.
    texts: dict[str, str] = {}
    for number, values in enumerate(sheet.iter_rows(), start=1):
        if values.count("") == len(values):
            continue  # an empty row
        for index, value in enumerate(values):
            kind = type(value)
            if kind is str:
                if not value:
                    values[index] = None
                else:
                    if "\x00" in value or "_x" in value:
                        value = _clean(value)
                    values[index] = texts.setdefault(value, value)
            elif kind is float:
                if value.is_integer() and -EXACT < value < EXACT:
                    values[index] = int(value)
            elif kind in AS_DATETIME:
                values[index] = AS_DATETIME[kind](value)
        while values and values[-1] is None:  # calamine pads rows to the widest
            values.pop()
        rows.append((number, pad + tuple(values)))
        if len(rows) > row_cap:
            break  # enough to say the file is over the limit
    return rows


def _active(content: bytes, kind: str, names: list[str]) -> int:
    """The sheet the file was saved on, read first as Excel opens it (.xls, .xlsb: the first)."""
    part, pattern = ACTIVE.get(kind, ("", b""))
    try:
        found = re.search(pattern, zipfile.ZipFile(io.BytesIO(content)).read(part)).group(1)
        return int(found) if kind == "xlsx" else names.index(html.unescape(found.decode()))
    except Exception:  # no such part, or no such sheet: workbook order
        return 0


def _main(kind: str, row_cap: int, memory_mb: int, seconds: int) -> None:
    limit = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # CPU seconds too, so a file that loops the parser stops on its own.
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))
    from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum

    content = sys.stdin.buffer.read()
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheets = book.sheets_metadata
        names = [sheet.name for sheet in sheets]
        active = min(_active(content, kind, names), len(names) - 1)
        found = [
            _rows(book.get_sheet_by_index(index), row_cap)
            for index in sorted(range(len(names)), key=lambda i: i != active)
            if sheets[index].typ == SheetTypeEnum.WorkSheet  # hidden ones too; not charts
        ]
    except PasswordError:
        sys.exit(PROTECTED)
    except MemoryError:
        raise
    except BaseException:  # BadZipFile, CalamineError, XmlError, a panic in the Rust code
        sys.exit(BROKEN)
    sys.stdout.buffer.write(pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    _main(sys.argv[1], *map(int, sys.argv[2:5]))
