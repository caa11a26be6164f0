"""Issue 13, data files: delimiters, encodings, BOM, CRLF, quoted newlines, empty and header-only
files; one message per cause, in rulecheck's words, said once in the text report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rulecheck import cli
from rulecheck.engines.data import read_data
from rulecheck.errors import InputError

POLICY = """\
version: 1
name: data-files
target:
  data: data.csv
  label: y
  prediction: p
rules:
  - {id: dp-sex, kind: demographic_parity, by: sex, max_difference: 0.9}
  - {id: eo-sex, kind: equal_opportunity, by: sex, max_difference: 0.9}
  - {id: accuracy, kind: performance, metric: accuracy, min: 0.1}
"""

ROWS = [("F", 1, 1, "1.5"), ("M", 0, 1, "2.5"), ("F", 0, 0, "3.5"), ("M", 1, 1, "4.5")] * 20


def csv_bytes(sep: str = ",", newline: str = "\n", decimal: str = ".") -> bytes:
    lines = [sep.join(("sex", "y", "p", "w"))]
    lines += [sep.join((s, str(y), str(p), w.replace(".", decimal))) for s, y, p, w in ROWS]
    return (newline.join(lines) + newline).encode("utf-8")


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def check(capsys: pytest.CaptureFixture[str], policy: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main(["check", str(policy), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("sep", "shown"), [(";", "';'"), ("\t", "'\\t'"), ("|", "'|'")])
def test_wrong_delimiter_is_named(
    policy: Path, sep: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (policy.parent / "data.csv").write_bytes(csv_bytes(sep))
    code, out, err = check(capsys, policy)
    assert code == 2
    name = sep.join(("sex", "y", "p", "w"))
    expected = (
        f"the data has one column named {name!r}: is the file delimited by {shown}? "
        f"set target.csv: {{delimiter: {shown}}} (CLI --csv-delimiter {shown})"
    )
    assert err == f"rulecheck: error: {expected}\n"
    assert "not found" not in out + err


@pytest.mark.parametrize(("sep", "flag"), [(";", ";"), ("\t", "\\t"), ("\t", "tab"), ("|", "|")])
def test_csv_delimiter_flag_reads_the_file(
    policy: Path, sep: str, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (policy.parent / "data.csv").write_bytes(csv_bytes(sep))
    code, out, err = check(capsys, policy, "--csv-delimiter", flag)
    assert (code, err) == (0, "")
    assert "(80 rows)" in out


def test_csv_delimiter_flag_must_be_one_character(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (policy.parent / "data.csv").write_bytes(csv_bytes())
    code, _, err = check(capsys, policy, "--csv-delimiter", ";;")
    assert code == 2
    assert "--csv-delimiter must be one character" in err


def test_policy_csv_block_sets_delimiter_decimal_and_encoding(tmp_path: Path) -> None:
    import rulecheck

    text = csv_bytes(";", decimal=",").decode("utf-8").replace("F", "Fé")
    (tmp_path / "data.csv").write_bytes(text.encode("latin-1"))
    policy = POLICY.replace(
        "  prediction: p\n",
        "  prediction: p\n  csv: {delimiter: ';', decimal: ',', encoding: latin-1}\n",
    )
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    report = rulecheck.evaluate(tmp_path / "policy.yaml")
    assert report.errors == ()
    groups = {g.label() for g in report.verdict("dp-sex").groups}
    assert groups == {"sex=Fé", "sex=M"}
    frame = read_data(tmp_path / "data.csv", delimiter=";", decimal=",", encoding="latin-1")
    assert frame["w"].tolist()[:2] == [1.5, 2.5]


def test_csv_options_are_validated() -> None:
    from pydantic import ValidationError

    from rulecheck.policy import Target

    csv = Target.model_validate(
        {"csv": {"delimiter": "\t", "decimal": ",", "encoding": "cp1252"}}
    ).csv
    assert csv is not None
    assert (csv.delimiter, csv.decimal, csv.encoding) == ("\t", ",", "cp1252")
    with pytest.raises(ValidationError):
        Target.model_validate({"csv": {"delimiter": ";;"}})
    with pytest.raises(ValidationError):
        Target.model_validate({"csv": {"separator": ";"}})


def test_unknown_encoding_names_file_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes())
    with pytest.raises(InputError, match=r"data file '.*data.csv': unknown encoding 'klingon'"):
        read_data(path, encoding="klingon")


def test_decode_error_names_file_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(csv_bytes().replace(b"F", "Fé".encode("latin-1")))
    with pytest.raises(InputError, match=r"data file '.*data.csv' cannot be decoded as utf-8 \("):
        read_data(path)
    with pytest.raises(InputError, match=r"cannot be decoded as utf-16"):
        read_data(path, encoding="utf-16")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"\xef\xbb\xbf" + csv_bytes(), id="bom"),
        pytest.param(csv_bytes(newline="\r\n"), id="crlf"),
        pytest.param(b"\xef\xbb\xbf" + csv_bytes(newline="\r\n"), id="bom-crlf"),
    ],
)
def test_bom_and_crlf_read_like_plain_csv(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    frame = read_data(path)
    assert list(frame.columns) == ["sex", "y", "p", "w"]
    assert frame["sex"].tolist() == [r[0] for r in ROWS]
    assert frame["w"].tolist()[:2] == [1.5, 2.5]
    # an explicit utf-8 accepts the byte-order mark too
    assert list(read_data(path, encoding="utf-8").columns) == ["sex", "y", "p", "w"]


def test_quoted_newlines_stay_in_their_field(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b'sex,note,y\r\nF,"two\r\nlines",1\r\nM,"a ""quote"", a comma",0\r\n')
    frame = read_data(path)
    assert len(frame) == 2
    assert frame["note"].tolist() == ["two\r\nlines", 'a "quote", a comma']
    assert frame["y"].tolist() == [1, 0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "data file '{path}' is empty (0 bytes)"),
        (b"sex,y,p\n", "data file '{path}' has a header but no rows"),
        (b"\n\n", "data file '{path}' is empty (no header line)"),
    ],
)
def test_empty_data_is_one_message_said_once(
    policy: Path, content: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = policy.parent / "data.csv"
    path.write_bytes(content)
    code, out, err = check(capsys, policy)
    expected = message.format(path=path)
    assert code == 2
    assert err == f"rulecheck: error: {expected}\n"
    assert out.count(expected) == 1
    assert "No columns to parse" not in out + err
    assert "(? rows)" not in out
    assert f"data: {path}\n" in out
    assert "3 rules: 0 pass, 3 error. Exit code 2." in out


def test_json_keeps_every_verdict_of_a_run_error(
    policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    (policy.parent / "data.csv").write_bytes(b"")
    code, out, _ = check(capsys, policy, "--format", "json")
    assert code == 2
    report = json.loads(out)
    assert [v["status"] for v in report["verdicts"]] == ["error"] * 3
    assert len(report["errors"]) == 1


def test_parquet_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"is empty \(0 bytes\)"):
        read_data(path)
    pd.DataFrame({"a": [1]}).iloc[:0].to_parquet(path)
    with pytest.raises(InputError, match="has a header but no rows"):
        read_data(path)


def test_unknown_encoding_in_the_policy_is_a_policy_error_with_its_line(tmp_path: Path) -> None:
    from rulecheck.errors import PolicyError
    from rulecheck.policy import load_policy

    path = tmp_path / "policy.yaml"
    path.write_text(
        POLICY.replace("  prediction: p\n", "  prediction: p\n  csv: {encoding: klingon}\n"),
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert "policy.yaml:7:" in caught.value.render()
    assert "target.csv.encoding: unknown encoding 'klingon'" in caught.value.render()
