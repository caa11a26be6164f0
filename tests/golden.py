"""Golden-file comparison: expected output lives next to its input, updated only on request."""

from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def check_golden(path: Path, actual: str, update: bool) -> None:
    """Compare ``actual`` with the file at ``path``; with ``update`` rewrite it instead."""
    if update or not path.exists():
        if not update:
            raise AssertionError(
                f"missing golden file {path}; run pytest --update-goldens and review"
            )
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path} (run pytest --update-goldens to accept)"
