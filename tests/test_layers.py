"""Issue #16: each room imports only the rooms below it, and no file outgrows a reading."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Bottom first. accounts/ and alerts/ share a floor: neither imports the other.
FLOORS = [
    {"infrastructure"},
    {"members"},
    {"accounts", "alerts"},
    {"transfers"},
    {"activities"},
    {"ledgers"},
    {"reports", "selfservice", "partners"},
    {"api"},
]
FLOOR = {room: n for n, rooms in enumerate(FLOORS) for room in rooms}


def _sources(room: str):
    for path in sorted((ROOT / room).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def _imported_rooms(path: Path) -> set[str]:
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            rooms |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            rooms.add(node.module.split(".")[0])
    return rooms & set(FLOOR)


def test_no_room_imports_a_room_above_or_beside_it():
    upward = [
        f"{path.relative_to(ROOT)} imports {other}"
        for room, floor in FLOOR.items()
        for path in _sources(room)
        for other in _imported_rooms(path)
        if other != room and FLOOR[other] >= floor
    ]
    assert upward == []


def test_the_check_sees_an_upward_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from reports import dashboard\nimport members.models\n")
    assert _imported_rooms(sample) == {"reports", "members"}


def test_no_file_over_600_lines_outside_migrations_and_tests():
    long = [
        f"{path.relative_to(ROOT)}: {lines}"
        for room in [*FLOOR, "config"]
        for path in _sources(room)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 600
    ]
    assert long == []
