"""Reading data files (CSV, gzipped CSV, Parquet) and fingerprinting input files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from rulecheck.errors import InputError

__all__ = ["DATA_SUFFIXES", "read_data", "sha256_file"]

DATA_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".parquet", ".pq")


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes (streamed)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_data(path: Path) -> pd.DataFrame:
    """Read a CSV (optionally compressed) or Parquet file into a DataFrame.

    Raises InputError for a missing, unreadable or empty file, or an unknown suffix.
    """
    name = path.name.lower()
    if not path.is_file():
        raise InputError(f"data file {str(path)!r} does not exist", subject="data")
    try:
        if name.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(path)
        elif name.endswith(DATA_SUFFIXES):
            frame = pd.read_csv(path)
        else:
            raise InputError(
                f"data file {str(path)!r} has an unknown format; use one of {', '.join(DATA_SUFFIXES)}",
                subject="data",
            )
    except InputError:
        raise
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read data file {str(path)!r}: {exc}", subject="data") from None
    if len(frame) == 0:
        raise InputError(f"data file {str(path)!r} has no rows", subject="data")
    return frame
