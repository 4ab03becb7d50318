"""``summary_json`` takes a fast path when a summary's keys are all strings; it must write exactly what
the general path ``json.dumps(_plain(summary), sort_keys=True)`` writes, for any nesting of dicts, lists
and tuples, non-string keys, NaN and infinities, and numpy scalars."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simsparse.sweep.worker import _plain, summary_json

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(np.float32),
    st.integers(-100, 100).map(np.int64),
)
KEYS = st.one_of(st.text(max_size=4), st.integers(-3, 3))


def _tree(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(KEYS, children, max_size=3),
    )


VALUES = st.recursive(SCALARS, _tree, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(summary=st.dictionaries(st.text(max_size=6), VALUES, max_size=6))
def test_fast_summary_json_writes_what_the_general_path_writes(summary: dict[str, Any]) -> None:
    assert summary_json(summary) == json.dumps(_plain(summary), sort_keys=True)
