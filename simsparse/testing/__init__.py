"""Public testing helpers: hypothesis strategies for configurations (requires ``hypothesis``)."""

from __future__ import annotations

from simsparse.testing.strategies import systems

__all__ = ["systems"]
