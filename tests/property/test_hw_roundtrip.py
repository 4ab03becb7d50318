"""Any valid System survives dump_hardware -> parse_yaml -> structure unchanged."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from simsparse.config import dump_hardware, dump_yaml, parse_yaml, structure
from simsparse.hw import System
from simsparse.testing import systems


def _float_repr_round_trips() -> bool:
    data, _ = parse_yaml(dump_yaml({"x": 3e-06}), "<probe>")
    return isinstance(data["x"], float)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(systems())
def test_yaml_round_trip(system: System) -> None:
    text = dump_hardware(system)
    if "!!float '" in text and not _float_repr_round_trips():
        pytest.xfail("simsparse.config.yamlio dumps floats whose repr has no '.' (3e-06, 5e-324) as quoted strings")
    data, _ = parse_yaml(text, "<dumped>")
    assert structure(System, data) == system
