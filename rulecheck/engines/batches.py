"""Parquet data read in batches: one file, a directory of files, or a glob.

Only the columns an audit needs are read, one row group at a time (pyarrow's
``ParquetFile.iter_batches``, no read-ahead), so memory stays bounded by the batch whatever the
size of the data. The fingerprint of one file is its sha256; of several, the sha256 of their names and digests
in path order.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rulecheck.engines.data import sha256_file
from rulecheck.errors import InputError

__all__ = ["DEFAULT_BATCH_ROWS", "ParquetSource", "is_dataset"]

DEFAULT_BATCH_ROWS = 262_144
_GLOB = set("*?[")


def is_dataset(where: str | Path) -> bool:
    """True for a directory or a glob pattern: data that is streamed by default."""
    text = str(where)
    return Path(text).is_dir() or any(ch in _GLOB for ch in text)


@dataclass(frozen=True)
class ParquetSource:
    """The Parquet files of ``--data``, in path order."""

    shown: str
    paths: tuple[Path, ...]

    @classmethod
    def open(cls, where: str | Path) -> ParquetSource:
        text = str(where)
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".parquet", ".pq"))
            if not found:
                raise InputError(f"data directory {text!r} holds no .parquet files", subject="data")
        elif any(ch in _GLOB for ch in text):
            found = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            if not found:
                raise InputError(f"data pattern {text!r} matches no file", subject="data")
        elif path.is_file():
            found = [path]
        else:
            raise InputError(f"data file {text!r} does not exist", subject="data")
        odd = [str(p) for p in found if p.suffix not in (".parquet", ".pq")]
        if odd:
            raise InputError(
                f"streamed data must be Parquet files; not Parquet: {', '.join(odd[:5])}",
                subject="data",
            )
        return cls(text, tuple(found))

    def _file(self, path: Path):  # type: ignore[no-untyped-def]
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(
                f"data file {str(path)!r} is not a readable Parquet file: {exc}"
            ) from None

    def columns(self) -> list[str]:
        """The first file's column names (every file must hold the columns read)."""
        return [str(name) for name in self._file(self.paths[0]).schema_arrow.names]

    def sha256(self) -> str:
        """The file's sha256 (as the in-memory engine reports it); for several files, the
        sha256 of their names and digests."""
        if len(self.paths) == 1:
            return sha256_file(self.paths[0])
        digest = hashlib.sha256()
        for path in self.paths:
            digest.update(f"{path.name}\0{sha256_file(path)}\n".encode())
        return digest.hexdigest()

    def check_columns(self, columns: Sequence[str]) -> None:
        """InputError naming the first file that lacks any of ``columns`` (from the files'
        metadata only: nothing is read)."""
        for path in self.paths:
            self._check(path, self._file(path), columns)

    @staticmethod
    def _check(path: Path, handle: object, columns: Sequence[str]) -> None:
        names = set(handle.schema_arrow.names)  # type: ignore[attr-defined]
        missing = [c for c in columns if c not in names]
        if missing:
            raise InputError(
                f"data file {str(path)!r} lacks the column"
                f"{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}",
                subject="data",
            )

    def batches(
        self, columns: Sequence[str], batch_rows: int = DEFAULT_BATCH_ROWS
    ) -> Iterator[tuple[int, pd.DataFrame]]:
        """(position of the batch's first row, the batch) over every file in order."""
        start = 0
        for path in self.paths:
            handle = self._file(path)
            self._check(path, handle, columns)
            for batch in handle.iter_batches(batch_size=batch_rows, columns=list(columns)):
                frame = batch.to_pandas()
                yield start, frame
                start += len(frame)
