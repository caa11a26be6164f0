"""Verdict messages read as one sentence: a ratio against a reference group names each group
once (the COMPAS disparate-impact message named the same pair twice, in 368 characters)."""

from __future__ import annotations

import pandas as pd

import rulecheck


def test_ratio_to_a_reference_names_each_group_once() -> None:
    frame = pd.DataFrame(
        {"race": ["a"] * 100 + ["b"] * 100, "p": [1] * 60 + [0] * 40 + [1] * 30 + [0] * 70}
    )
    report = rulecheck.evaluate(
        "version: 1\nname: di\nrules:\n"
        "  - {id: di, kind: disparate_impact, by: race, reference_group: b, max_ratio: 1.25}\n",
        frame,
        prediction="p",
    )
    message = report.verdicts[0].message
    assert message == (
        "selection_rate ratio to reference 2 > max_ratio 1.25 (race=a 0.6 vs reference race=b 0.3)"
        "; also selection_rate ratio to reference 2 >= min_ratio 0.8."
    )
    assert message.count("race=a") == 1
    assert message.count("race=b") == 1


def test_several_groups_against_a_reference_say_which_is_which() -> None:
    frame = pd.DataFrame(
        {
            "race": ["a"] * 100 + ["b"] * 100 + ["c"] * 100,
            "p": [1] * 60 + [0] * 40 + [1] * 30 + [0] * 70 + [1] * 20 + [0] * 80,
        }
    )
    report = rulecheck.evaluate(
        "version: 1\nname: di\nrules:\n"
        "  - {id: di, kind: disparate_impact, by: race, reference_group: b, max_ratio: 1.25}\n",
        frame,
        prediction="p",
    )
    assert report.verdicts[0].message == (
        "selection_rate lowest ratio to reference 0.6667 < min_ratio 0.8 (lowest race=c 0.2, "
        "highest race=a 0.6 vs reference race=b 0.3); also selection_rate highest ratio to "
        "reference 2 > max_ratio 1.25."
    )
