"""The numbers of rulecheck's intervals against independent oracles: a hand stratified row
bootstrap, statsmodels' closed forms, a slow DeLong, hand Poisson-weighted replicates."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

import rulecheck
from rulecheck.engines._rowboot import PoissonWeights
from rulecheck.engines.attribution import explain
from rulecheck.verdict import Interval, Status, Verdict

FloatArray = npt.NDArray[np.float64]


def policy(rules: str, uncertainty: str = "uncertainty: {}", target: str = "") -> str:
    return (
        f"version: 1\nname: oracle\ntarget: {{label: y, prediction: p{target}}}\n"
        f"{uncertainty}\nrules:\n{rules}"
    )


def rated_frame(sizes: dict[str, int], rates: dict[str, float], seed: int) -> pd.DataFrame:
    """Groups g of the given sizes; decisions p with the given selection rates; labels y
    independent coin flips."""
    rng = np.random.default_rng(seed)
    parts = [
        pd.DataFrame(
            {
                "g": group,
                "y": rng.integers(0, 2, n),
                "p": (rng.uniform(size=n) < rates[group]).astype(int),
            }
        )
        for group, n in sizes.items()
    ]
    return pd.concat(parts, ignore_index=True)


def interval_of(verdict: Verdict, bound: str) -> Interval:
    (check,) = [c for c in verdict.checks if c.bound == bound]
    assert check.interval is not None, verdict.message
    return check.interval


# -- 5. the count bootstrap vs a hand stratified row bootstrap --------------------------------

B_ORACLE = 4000


def stratified_row_bootstrap(frame: pd.DataFrame, statistic: str, seed: int) -> tuple[float, float]:
    """Resample rows with replacement within each group (B = 4000) and build the interval of
    the statistic of the groups' selection rates as docs/uncertainty.md describes it.

    ``range`` (max - min over three groups): upper end the 97.5% percentile of the replicates'
    range; lower end the one-sided simultaneous bound max over ordered pairs (i, j) of
    d_ij - c sd_ij, c the 97.5% quantile of max_ij |d*_ij - d_ij| / sd_ij, at least 0.
    ``min_ratio`` (lowest ratio of the other groups to the reference, the first group): lower
    end the 2.5% percentile of the replicates' lowest ratio; upper end min_g r_g + c sd_g.
    """
    rng = np.random.default_rng(seed)
    groups = sorted(frame["g"].unique())
    rates = np.empty((B_ORACLE, len(groups)))
    point = np.empty(len(groups))
    for j, group in enumerate(groups):
        p = frame.loc[frame["g"] == group, "p"].to_numpy()
        draws = rng.integers(0, len(p), size=(B_ORACLE, len(p)))
        rates[:, j] = p[draws].mean(axis=1)
        point[j] = p.mean()
    if statistic == "range":
        pairs = [(i, j) for i in range(len(groups)) for j in range(len(groups)) if i != j]
        comps = np.column_stack([rates[:, i] - rates[:, j] for i, j in pairs])
        estimates = np.array([point[i] - point[j] for i, j in pairs])
        values = rates.max(axis=1) - rates.min(axis=1)
    else:
        comps = rates[:, 1:] / rates[:, [0]]
        estimates = point[1:] / point[0]
        values = comps.min(axis=1)
    sd = comps.std(axis=0)
    c = np.quantile((np.abs(comps - estimates) / sd).max(axis=1), 0.975)
    if statistic == "range":
        low = max(float((estimates - c * sd).max()), 0.0)
        high = float(np.quantile(values, 0.975))
    else:
        low = float(np.quantile(values, 0.025))
        high = float((estimates + c * sd).min())
    return low, high


THREE = {"a": 500, "b": 520, "c": 480}


def test_count_bootstrap_of_a_three_group_range_matches_a_row_bootstrap() -> None:
    frame = rated_frame(THREE, {"a": 0.40, "b": 0.45, "c": 0.50}, seed=11)
    rules = "  - {id: dp, kind: demographic_parity, by: g, max_difference: 0.5}\n"
    text = policy(rules, "uncertainty: {bootstrap: {n: 4000, seed: 3}}")
    mine = interval_of(rulecheck.evaluate(text, data=frame).verdicts[0], "max_difference")
    low, high = stratified_row_bootstrap(frame, "range", seed=99)
    # Monte Carlo tolerance: the gap's bootstrap sd is about sqrt(2 * 0.25 / 500) = 0.032; a
    # 2.5% quantile from 4000 replicates has sd about 0.032 * sqrt(.025 * .975 / 4000) /
    # phi(1.96) = 0.0014, so two independent bootstraps differ by sd 0.002: 0.01 is 5 sd
    # (observed differences over three data seeds: at most 0.003). The interval is about 0.11
    # wide, so per-group intervals combined, or a wrong percentile, would move an end by more.
    assert mine.low == pytest.approx(low, abs=0.01)
    assert mine.high == pytest.approx(high, abs=0.01)
    assert mine.method == "bootstrap"
    assert mine.confidence == 0.95


def test_count_bootstrap_of_a_min_ratio_to_reference_matches_a_row_bootstrap() -> None:
    frame = rated_frame(THREE, {"a": 0.50, "b": 0.42, "c": 0.45}, seed=12)
    rules = "  - {id: di, kind: disparate_impact, by: g, reference_group: a, min_ratio: 0.5}\n"
    text = policy(rules, "uncertainty: {bootstrap: {n: 4000, seed: 3}}")
    mine = interval_of(rulecheck.evaluate(text, data=frame).verdicts[0], "min_ratio")
    low, high = stratified_row_bootstrap(frame, "min_ratio", seed=98)
    # The ratio ~0.85 has bootstrap sd about 0.85 * sqrt(2 * 0.5 / 250) = 0.06, so a 2.5%
    # quantile has Monte Carlo sd ~0.0025 and the difference of two ~0.0036: 0.02 is 5.5 sd.
    assert mine.low == pytest.approx(low, abs=0.02)
    assert mine.high == pytest.approx(high, abs=0.02)


def test_count_bootstrap_is_not_an_unstratified_or_per_group_interval() -> None:
    """The range's interval is computed on joint replicates: it is far narrower than the
    naive interval from the groups' own interval ends (max high - min low)."""
    frame = rated_frame(THREE, {"a": 0.40, "b": 0.45, "c": 0.50}, seed=11)
    rules = "  - {id: dp, kind: demographic_parity, by: g, max_difference: 0.5}\n"
    verdict = rulecheck.evaluate(policy(rules), data=frame).verdicts[0]
    mine = interval_of(verdict, "max_difference")
    ends = [g.interval for g in verdict.groups]
    assert all(e is not None for e in ends)
    naive = max(e.high for e in ends if e) - min(e.low for e in ends if e)
    assert mine.high < naive - 0.02


# -- 6. analytic intervals vs statsmodels -------------------------------------------------


def test_analytic_accuracy_is_wilson() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"g": "x", "y": rng.integers(0, 2, 300), "p": rng.integers(0, 2, 300)})
    k, n = int((frame["y"] == frame["p"]).sum()), len(frame)
    rules = "  - {id: acc, kind: performance, metric: accuracy, min: 0.2, confidence: 0.9}\n"
    mine = interval_of(
        rulecheck.evaluate(policy(rules, "uncertainty: {method: analytic}"), data=frame).verdicts[
            0
        ],
        "min",
    )
    low, high = proportion_confint(k, n, alpha=0.1, method="wilson")
    assert mine.method == "wilson"
    assert mine.n == n
    assert (mine.low, mine.high) == pytest.approx((low, high), abs=1e-9)


def _fold(low: float, high: float) -> tuple[float, float]:
    """The interval of |d| from an interval of d."""
    if low >= 0:
        return low, high
    if high <= 0:
        return -high, -low
    return 0.0, max(high, -low)


@pytest.mark.parametrize(
    ("rates", "crosses_zero"), [({"a": 0.30, "b": 0.32}, True), ({"a": 0.2, "b": 0.45}, False)]
)
def test_analytic_fpr_difference_is_folded_newcombe(
    rates: dict[str, float], crosses_zero: bool
) -> None:
    frame = rated_frame({"a": 300, "b": 250}, rates, seed=4)
    negatives = frame[frame["y"] == 0]
    fp = negatives.groupby("g")["p"].sum()
    nn = negatives.groupby("g").size()
    rules = (
        "  - {id: fpr, kind: group_metric, metric: false_positive_rate, by: g,"
        " max_difference: 0.1}\n"
    )
    verdict = rulecheck.evaluate(policy(rules, "uncertainty: {method: analytic}"), data=frame)
    mine = interval_of(verdict.verdicts[0], "max_difference")
    low, high = confint_proportions_2indep(
        fp["a"], nn["a"], fp["b"], nn["b"], method="newcomb", compare="diff", alpha=0.05
    )
    assert bool(low < 0 < high) is crosses_zero
    assert mine.method == "newcombe"
    assert mine.n == int(nn.sum())
    assert (mine.low, mine.high) == pytest.approx(_fold(low, high), abs=1e-9)


@pytest.mark.parametrize("kind", ["disparate_impact", "group_metric"])
def test_analytic_selection_rate_ratio_to_reference_is_katz(kind: str) -> None:
    frame = rated_frame({"ref": 400, "other": 350}, {"ref": 0.5, "other": 0.4}, seed=5)
    metric = ", metric: selection_rate" if kind == "group_metric" else ""
    rules = f"  - {{id: r, kind: {kind}{metric}, by: g, reference_group: ref, min_ratio: 0.8}}\n"
    verdict = rulecheck.evaluate(
        policy(rules, "uncertainty: {method: analytic, confidence: 0.99}"), data=frame
    ).verdicts[0]
    mine = interval_of(verdict, "min_ratio")
    k = frame.groupby("g")["p"].sum()
    n = frame.groupby("g").size()
    low, high = confint_proportions_2indep(
        k["other"], n["other"], k["ref"], n["ref"], method="log", compare="ratio", alpha=0.01
    )
    assert mine.method == "katz"
    assert mine.confidence == 0.99
    assert (mine.low, mine.high) == pytest.approx((low, high), abs=1e-9)
    assert verdict.value == pytest.approx((k["other"] / n["other"]) / (k["ref"] / n["ref"]))


def slow_delong(y: FloatArray, s: FloatArray, confidence: float) -> tuple[float, float]:
    """DeLong's interval from the placement values, by an O(n1 * n0) double loop."""
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    auc = psi.mean()
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    variance = v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)
    z = norm.ppf(0.5 + confidence / 2)
    return float(auc - z * np.sqrt(variance)), float(auc + z * np.sqrt(variance))


def test_analytic_roc_auc_is_delong() -> None:
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 400)
    s = np.round(rng.normal(0.6 * y, 1.0), 1)  # rounded: ties count one half
    frame = pd.DataFrame({"y": y, "p": (s > 0.3).astype(int), "s": 1 / (1 + np.exp(-s))})
    rules = "  - {id: auc, kind: performance, metric: roc_auc, min: 0.5}\n"
    text = policy(rules, "uncertainty: {method: analytic}", ", score: s")
    verdict = rulecheck.evaluate(text, data=frame).verdicts[0]
    mine = interval_of(verdict, "min")
    low, high = slow_delong(y.astype(float), frame["s"].to_numpy(), 0.95)
    assert mine.method == "delong"
    assert (mine.low, mine.high) == pytest.approx((low, high), abs=1e-9)


# -- 12. row-level bootstrap vs hand Poisson-weighted replicates ---------------------------


def test_loss_disparity_replicates_equal_hand_poisson_weighted_log_loss() -> None:
    rng = np.random.default_rng(8)
    n = 600
    g = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    y = rng.integers(0, 2, n)
    s = np.clip(0.5 + (y - 0.5) * rng.uniform(-0.3, 0.9, n) + 0.1 * (g == "b"), 0.02, 0.98)
    frame = pd.DataFrame({"g": g, "y": y, "p": (s > 0.5).astype(int), "s": s})
    rules = (
        "  - {id: loss, kind: loss_disparity, loss: log_loss, by: g, max_difference: 0.5,"
        " min_group_size: 1}\n"
    )
    text = policy(rules, "uncertainty: {bootstrap: {n: 300, seed: 5}}", ", score: s")
    verdict = rulecheck.evaluate(text, data=frame).verdicts[0]
    mine = interval_of(verdict, "max_difference")

    loss = -np.log(np.where(y == 1, s, 1 - s))
    counts = PoissonWeights(n, 300, 5).counts().astype(float)
    # Two groups: the percentile interval of the signed difference, highest minus lowest group
    # in the estimate, folded to its magnitude (an interval crossing 0 becomes [0, max |end|]).
    sign = 1.0 if loss[g == "a"].mean() >= loss[g == "b"].mean() else -1.0
    gaps = np.empty(300)
    for b in range(300):
        w = counts[b]
        a = np.average(loss[g == "a"], weights=w[g == "a"])
        c = np.average(loss[g == "b"], weights=w[g == "b"])
        gaps[b] = sign * (a - c)
    low, high = np.nanquantile(gaps, [0.025, 0.975], method="linear")
    if low < 0 < high:
        low, high = 0.0, max(high, -low)
    elif high <= 0:
        low, high = -high, -low
    assert verdict.value == pytest.approx(abs(loss[g == "a"].mean() - loss[g == "b"].mean()))
    assert (mine.low, mine.high) == pytest.approx((low, high), abs=1e-9)


def _attribution_data(n: int, seed: int) -> tuple[pd.DataFrame, LogisticRegression]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    y = (X["x0"] + 0.5 * X["x1"] + 0.2 * X["x2"] + rng.normal(size=n) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    frame = X.assign(y=y, p=model.predict(X))
    return frame, model


ATTRIBUTION = "  - {id: share, kind: attribution, features: [x1], max_share: 0.9}\n"
FEATURES = ["x0", "x1", "x2"]


def test_attribution_share_replicates_equal_hand_poisson_weighted_shares() -> None:
    frame, model = _attribution_data(400, seed=9)
    text = policy(ATTRIBUTION, "uncertainty: {bootstrap: {n: 200, seed: 2}}")
    verdict = rulecheck.evaluate(text, data=frame, model=model, features=FEATURES).verdicts[0]
    mine = interval_of(verdict, "max_share")

    magnitude = np.abs(explain(model, frame[FEATURES]).values)  # the same default settings
    counts = PoissonWeights(len(frame), 200, 2).counts().astype(float)
    weighted = counts @ magnitude  # (B, features): weighted sums of |SHAP|
    shares = weighted[:, 1] / weighted.sum(axis=1)
    low, high = np.nanquantile(shares, [0.025, 0.975], method="linear")
    point = magnitude.mean(axis=0)[1] / magnitude.mean(axis=0).sum()
    assert verdict.value == pytest.approx(point, abs=1e-12)
    assert (mine.low, mine.high) == pytest.approx((low, high), abs=1e-9)


def test_attribution_interval_contains_the_share_and_narrows_with_rows() -> None:
    widths = []
    for rows in (200, 1600):
        frame, model = _attribution_data(rows, seed=10)
        verdict = rulecheck.evaluate(
            policy(ATTRIBUTION), data=frame, model=model, features=FEATURES
        ).verdicts[0]
        mine = interval_of(verdict, "max_share")
        assert verdict.value is not None
        assert mine.low <= verdict.value <= mine.high
        widths.append(mine.high - mine.low)
    assert widths[1] < 0.6 * widths[0]  # about 1 / sqrt(8) = 0.35 expected


# -- 13. weighted counts ------------------------------------------------------------------


def test_unit_weights_give_about_the_unweighted_interval() -> None:
    frame = rated_frame({"a": 1000, "b": 900}, {"a": 0.3, "b": 0.36}, seed=13)
    frame["w"] = 1.0
    rules = "  - {id: dp, kind: demographic_parity, by: g, max_difference: 0.2}\n"
    plain = interval_of(rulecheck.evaluate(policy(rules), data=frame).verdicts[0], "max_difference")
    weighted_verdict = rulecheck.evaluate(
        policy(rules, target=", sample_weight: w"), data=frame
    ).verdicts[0]
    weighted = interval_of(weighted_verdict, "max_difference")
    assert weighted.method == "bootstrap"
    width, other = plain.high - plain.low, weighted.high - weighted.low
    # Poisson row weights vs fixed-size multinomial draws: the same asymptotic spread; with
    # 1000 replicates each width has Monte Carlo error of a few percent.
    assert other == pytest.approx(width, rel=0.15)
    assert weighted.low == pytest.approx(plain.low, abs=0.015)
    assert weighted.high == pytest.approx(plain.high, abs=0.015)


# -- 15. proxy associations ---------------------------------------------------------------


def test_proxy_association_interval_contains_the_point_estimate() -> None:
    rng = np.random.default_rng(14)
    n = 800
    protected = rng.choice(["u", "v"], n)
    zip_code = np.where(rng.uniform(size=n) < 0.7, protected, rng.choice(["u", "v"], n))
    frame = pd.DataFrame(
        {
            "race": protected,
            "zip": np.char.add("z", zip_code),
            "income": rng.normal(size=n),
            "y": rng.integers(0, 2, n),
            "p": rng.integers(0, 2, n),
        }
    )
    rules = "  - {id: proxy, kind: proxy, protected: race, features: [zip, income], max_association: 0.9}\n"
    verdict = rulecheck.evaluate(
        policy(rules), data=frame, features=["zip", "income", "race"]
    ).verdicts[0]
    assert verdict.status is Status.PASS, verdict.message
    mine = interval_of(verdict, "max_association")
    assert verdict.value is not None
    assert mine.low <= verdict.value <= mine.high
    assert 0 < mine.high - mine.low < 0.3


@pytest.mark.parametrize("order", [("an", "bo"), ("bo", "an")])
def test_attribution_fallback_note_belongs_to_the_rule_that_asked_for_analytic(
    order: tuple[str, str],
) -> None:
    frame, model = _attribution_data(300, seed=9)
    method = {"an": "analytic", "bo": "bootstrap"}
    rules = "".join(
        f"  - {{id: {rid}, kind: attribution, features: [x1], max_share: 0.9,"
        f" method: {method[rid]}}}\n"
        for rid in order
    )
    report = rulecheck.evaluate(policy(rules, ""), data=frame, model=model, features=FEATURES)
    note = "Analytic interval not available for attributions: bootstrap used."
    assert note in report.verdict("an").notes
    assert note not in report.verdict("bo").notes
    # The same replicates either way: the method changes the note, not the numbers.
    assert report.verdict("an").interval == report.verdict("bo").interval


# -- a gap's interval contains its estimate ----------------------------------------------
# The percentile interval of max - min is biased upward (every replicate's gap is >= 0): with
# three equal groups it excluded the observed gap 0 and failed a bound the point estimate met.
# Gaps among three or more groups now get a simultaneous (max-t) band of the pairwise
# differences, two groups the folded percentile interval of their signed difference.


def test_an_observed_gap_of_zero_is_never_a_definite_fail() -> None:
    frame = rated_frame({"a": 1000, "b": 1000, "c": 1000}, {"a": 0.5, "b": 0.5, "c": 0.5}, 0)
    frame["p"] = np.tile([0, 1], 1500)  # every group's selection rate exactly 0.5
    rules = "  - {id: dp, kind: demographic_parity, by: g, max_difference: 0.004}\n"
    verdict = rulecheck.evaluate(policy(rules), data=frame).verdicts[0]
    assert verdict.value == 0.0
    interval = interval_of(verdict, "max_difference")
    assert interval.low <= verdict.value <= interval.high
    assert verdict.status is not Status.FAIL


@pytest.mark.parametrize("groups", [3, 45])
def test_equal_groups_never_fail_a_gap_their_estimate_meets(groups: int) -> None:
    """Three (all pairs) and 45 (the groups' simultaneous band) groups with identical rates:
    the gap's interval starts at 0, contains the estimate, and its upper end is the joint
    replicates' percentile, so the rule is inconclusive or passes, never fails."""
    sizes = {f"g{i:02d}": 400 for i in range(groups)}
    frame = rated_frame(sizes, dict.fromkeys(sizes, 0.5), 0)
    frame["p"] = np.tile([0, 1], len(frame) // 2)
    rules = "  - {id: dp, kind: demographic_parity, by: g, max_difference: 0.01}\n"
    verdict = rulecheck.evaluate(policy(rules), data=frame).verdicts[0]
    interval = interval_of(verdict, "max_difference")
    assert verdict.value == 0.0
    assert interval.low == 0.0 < interval.high
    assert verdict.status is Status.INCONCLUSIVE


def test_a_clear_gap_among_many_groups_fails_for_certain() -> None:
    """The near end is conservative but not useless: one group far from 44 others fails."""
    sizes = {f"g{i:02d}": 400 for i in range(45)}
    rates = dict.fromkeys(sizes, 0.3) | {"g00": 0.8}
    frame = rated_frame(sizes, rates, 1)
    rules = "  - {id: dp, kind: demographic_parity, by: g, max_difference: 0.2}\n"
    verdict = rulecheck.evaluate(policy(rules), data=frame).verdicts[0]
    interval = interval_of(verdict, "max_difference")
    assert interval.low > 0.2
    assert interval.low <= verdict.value <= interval.high
    assert verdict.status is Status.FAIL
