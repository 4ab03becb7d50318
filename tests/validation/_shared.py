"""One comparison of every shipped dataset, shared by the validation tests of this process."""

from __future__ import annotations

import functools
import logging

import pandas as pd

from simsparse.validation.compare import compare

log = logging.getLogger("simsparse.tests.validation")


@functools.cache
def comparison() -> pd.DataFrame:
    """``compare()`` over all shipped datasets (event fidelity), computed once per test process."""
    return compare()


def table(df: pd.DataFrame, by: list[str]) -> str:
    """MAPE, median and worst absolute relative error per group, as text."""
    g = df.assign(ape=df["rel_error"].abs()).groupby(by)["ape"]
    out = pd.DataFrame({"n": g.size(), "mape": g.mean(), "median": g.median(), "worst": g.max()})
    text = out.to_string(float_format=lambda x: f"{x:.3f}")
    log.info("\n%s", text)
    return text
