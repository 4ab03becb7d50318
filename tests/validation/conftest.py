"""Shared fixture of the measured-vs-predicted tests: one compare() of every shipped dataset."""

from __future__ import annotations

import pandas as pd
import pytest

from simsparse.validation.compare import compare


@pytest.fixture(scope="session")
def comparison() -> pd.DataFrame:
    """``compare()`` over all shipped datasets (event fidelity), computed once per test session."""
    return compare()
