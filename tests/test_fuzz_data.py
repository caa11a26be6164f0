"""Data fuzzing: whatever the data file holds, ``rulecheck check`` answers 0, 1 or 2 in time.

Hypothesis writes data files for one small fixed policy: odd encodings (latin-1, cp1252, utf-16,
UTF-8 with a byte-order mark), delimiters (',', ';', tab, '|'), CRLF line ends, quoted fields
with newlines, delimiters and quotes inside, empty and header-only files, random bytes, gzip,
missing or duplicated columns, wrong types and NaN in every column. Each example runs the CLI
in-process and must exit 0, 1 or 2 (never 3, the internal-error code), print no traceback and
finish within ``LIMIT_S``. Default: a few hundred examples (well under a minute);
``RULECHECK_FUZZ_EXAMPLES=5000`` runs more (the CI's long fuzz run sets it).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulecheck import cli

EXAMPLES = int(os.environ.get("RULECHECK_FUZZ_EXAMPLES", "300"))
LIMIT_S = 10.0  # per example; a healthy run of this policy takes a few tens of milliseconds

POLICY = """\
version: 1
name: fuzz
target:
  data: {data}
  label: y
  prediction: p
{csv}rules:
  - {{id: dp, kind: demographic_parity, by: g, max_difference: 0.5, min_group_size: 2}}
  - {{id: eo, kind: equal_opportunity, by: g, max_difference: 0.5, min_group_size: 2}}
  - {{id: acc, kind: performance, metric: accuracy, min: 0.1}}
  - {{id: dp-ci, kind: demographic_parity, by: g, max_difference: 0.5, min_group_size: 2,
      bootstrap: {{n: 100}}}}
  - {{id: eo-an, kind: equal_opportunity, by: g, max_difference: 0.5, min_group_size: 2,
      method: analytic, min_support: 2}}
  - {{id: acc-ci, kind: performance, metric: accuracy, min: 0.1, confidence: 0.9}}
"""

ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16")
DELIMITERS = (",", ";", "\t", "|")

VALID = {
    "g": st.sampled_from(["F", "M", "X", "é", "1", "0"]),
    "y": st.sampled_from(["0", "1"]),
    "p": st.sampled_from(["0", "1"]),
}
WILD = st.one_of(
    st.sampled_from(["", "NaN", "nan", "NA", "null", "None", "inf", "-inf", "1e400", "true"]),
    st.text(max_size=8),  # quotes, delimiters, newlines, any unicode
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**20), 10**20).map(str),
)
SEPARATOR = "\n--- stderr ---\n"
RUN_ERROR = "rulecheck: error: "
NAN = st.sampled_from(["", "NaN", "nan", "NA"])


@st.composite
def tables(draw: st.DrawFn) -> list[list[str]]:
    """A header and rows: each column valid, wild (wrong types), NaN everywhere or a mix."""
    header = draw(
        st.sampled_from(
            [["g", "y", "p"], ["g", "y", "p", "x"], ["g", "y"], ["g", "g", "y", "p"], ["y", "p"]]
        )
    )
    columns = []
    for name in header:
        kind = draw(st.sampled_from(["valid", "valid", "wild", "nan", "mixed"]))
        valid = VALID.get(name, WILD)
        columns.append(
            {"valid": valid, "wild": WILD, "nan": NAN, "mixed": st.one_of(valid, WILD, NAN)}[kind]
        )
    n = draw(st.integers(0, 40))
    rows = [[draw(column) for column in columns] for _ in range(n)]
    return [header, *rows]


@st.composite
def data_files(draw: st.DrawFn) -> tuple[str, bytes, str | None, str | None]:
    """(file name, bytes, policy csv block, --csv-delimiter or None)."""
    shape = draw(st.sampled_from(["table"] * 8 + ["empty", "blank", "bytes"]))
    if shape == "empty":
        return "data.csv", b"", None, None
    if shape == "blank":
        return (
            "data.csv",
            draw(st.sampled_from([b"\n", b"\r\n\r\n", b"   \n", b"\xef\xbb\xbf"])),
            None,
            None,
        )
    if shape == "bytes":
        return "data.csv", draw(st.binary(min_size=1, max_size=300)), None, None
    table = draw(tables())
    delimiter = draw(st.sampled_from(DELIMITERS))
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
    )
    writer.writerows(table)
    encoding = draw(st.sampled_from(ENCODINGS))
    content = buffer.getvalue().encode(encoding, errors="replace")
    # The policy names the encoding, a wrong one, or none (UTF-8 is the default).
    declared = draw(st.sampled_from([None, encoding, "latin-1", "utf-16", "no-such-codec"]))
    block = f"  csv: {{encoding: {declared}}}\n" if declared else None
    flag = delimiter if draw(st.booleans()) else None
    name = "data.csv"
    if draw(st.integers(0, 9)) == 0:
        name, content = "data.csv.gz", gzip.compress(content)
    return name, content, block, flag


def run_check(
    directory: Path, name: str, content: bytes, block: str | None, flag: str | None
) -> tuple[int, str, float]:
    (directory / name).write_bytes(content)
    policy = directory / "policy.yaml"
    policy.write_text(POLICY.format(data=name, csv=block or ""), encoding="utf-8")
    args = ["check", str(policy), "--no-color"]
    if flag is not None:
        args += ["--csv-delimiter", flag]
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(args)
    return code, out.getvalue() + SEPARATOR + err.getvalue(), time.perf_counter() - start


@settings(
    max_examples=EXAMPLES,
    deadline=None,  # the time limit is asserted below, with the output to show
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data_files())
def test_any_data_file_gives_exit_0_1_or_2(case: tuple[str, bytes, str | None, str | None]) -> None:
    name, content, block, flag = case
    with tempfile.TemporaryDirectory() as tmp:
        code, output, took = run_check(Path(tmp), name, content, block, flag)
    assert code in (0, 1, 2), output
    assert "Traceback" not in output
    assert "internal error" not in output
    assert took < LIMIT_S, f"{took:.1f}s: {output}"
    assert "(? rows)" not in output
    # One message per cause: a run-level error (the data cannot be read, so no rule ran) is said
    # once on stderr and once in the text report, not once per rule.
    out, err = output.split(SEPARATOR)
    for line in err.splitlines():
        if line.startswith(RUN_ERROR):
            assert out.count(line.removeprefix(RUN_ERROR)) == 1, output


def test_100000_singleton_groups(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    frame = pd.DataFrame(
        {"g": [f"id{i}" for i in range(n)], "y": rng.integers(0, 2, n), "p": rng.integers(0, 2, n)}
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    code, output, took = run_check(
        tmp_path, "data.csv", (tmp_path / "data.csv").read_bytes(), None, None
    )
    assert code == 2, output  # no group reaches min_group_size: the group rules are ERROR
    assert "Traceback" not in output
    assert took < 60, f"{took:.1f}s"
