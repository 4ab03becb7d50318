"""The serving scenario: phase, batch, sequence lengths, parallelism and dtypes.

Parallel layout (per pipeline stage): ``n_devices_per_stage = max(tp, ep)`` devices.

* Attention and dense layers are tensor-parallel over ``tp`` devices; when ``ep > tp`` the
  ``ep / tp`` tensor-parallel groups run attention data-parallel (each on ``batch / (ep / tp)``
  sequences, "DP attention"), as SGLang/vLLM do for wide expert parallelism.
* Experts are spread over ``ep`` devices (expert ``e`` on device ``e // (n_experts / ep)``),
  and tokens travel by all-to-all-v (dispatch and combine). With ``ep == 1`` every expert is
  tensor-parallel over the ``tp`` devices instead. ``ep > 1`` needs ``ep % tp == 0``.
* ``pp`` pipeline stages split the layers; the trace shows the ops of one (the busiest) stage.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from simsparse.errors import WorkloadError
from simsparse.units import DTYPE_BITS, canonical_dtype

__all__ = ["PHASES", "Scenario"]

PHASES: tuple[str, ...] = ("prefill", "decode")


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One forward step of a batch.

    ``prefill``: each of the ``batch`` sequences brings ``prompt_len`` new tokens and attends
    over ``context_len`` keys (``context_len`` defaults to ``prompt_len``; a larger value is a
    chunked prefill over a cached prefix). ``decode``: each sequence brings one new token and
    attends over ``context_len`` cached keys (the new one included).
    """

    phase: Literal["prefill", "decode"] = "decode"
    batch: int = 1
    prompt_len: int = 0
    context_len: int = 0
    tp: int = 1
    ep: int = 1
    pp: int = 1
    microbatches: int = 1
    dtype: str = "bf16"
    kv_dtype: str = ""

    def __post_init__(self) -> None:
        def bad(field: str, expected: str, got: object) -> WorkloadError:
            return WorkloadError(f"scenario: {field}: expected {expected}, got {got!r}")

        if self.phase not in PHASES:
            raise bad("phase", "'prefill' or 'decode'", self.phase)
        for f in ("batch", "tp", "ep", "pp", "microbatches"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise bad(f, "an integer >= 1", v)
        for f in ("prompt_len", "context_len"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise bad(f, "an integer >= 0", v)
        if self.phase == "prefill" and self.prompt_len < 1:
            raise bad("prompt_len", "an integer >= 1 for prefill", self.prompt_len)
        if self.phase == "decode" and self.context_len < 1:
            raise bad("context_len", "an integer >= 1 for decode (the KV-cache length)", self.context_len)
        if self.phase == "prefill" and self.context_len and self.context_len < self.prompt_len:
            raise bad("context_len", f"0 or >= prompt_len ({self.prompt_len})", self.context_len)
        if self.batch % self.microbatches:
            raise bad("microbatches", f"a divisor of batch ({self.batch})", self.microbatches)
        if self.ep > 1 and self.ep % self.tp:
            raise bad("ep", f"1 or a multiple of tp ({self.tp})", self.ep)
        for f in ("dtype", "kv_dtype"):
            v = getattr(self, f)
            if f == "kv_dtype" and v == "":
                continue
            if canonical_dtype(v) not in DTYPE_BITS:
                raise bad(f, f"a dtype among {', '.join(DTYPE_BITS)}", v)

    @property
    def q_len(self) -> int:
        """New tokens per sequence in this step."""
        return self.prompt_len if self.phase == "prefill" else 1

    @property
    def kv_len(self) -> int:
        """Keys each new token attends over (= cached tokens after the step)."""
        if self.phase == "prefill":
            return max(self.context_len, self.prompt_len)
        return self.context_len

    @property
    def n_tokens(self) -> int:
        """Tokens processed by the whole system in this step."""
        return self.batch * self.q_len

    @property
    def n_devices_per_stage(self) -> int:
        return max(self.tp, self.ep)

    @property
    def n_devices(self) -> int:
        return self.n_devices_per_stage * self.pp

    @property
    def dp_attention(self) -> int:
        """Data-parallel attention groups per stage (``max(tp, ep) / tp``)."""
        return self.n_devices_per_stage // self.tp

    @property
    def batch_per_device(self) -> int:
        """Sequences one device's attention handles (rounded up: the busiest device)."""
        return math.ceil(self.batch / self.dp_attention)

    @property
    def microbatch_per_device(self) -> int:
        """Sequences of one micro-batch on one device: the op shapes of a pipeline step."""
        return math.ceil(self.batch // self.microbatches / self.dp_attention)

    @property
    def kv_dtype_resolved(self) -> str:
        return self.kv_dtype or self.dtype

    def replace(self, **changes: Any) -> Scenario:
        return dataclasses.replace(self, **changes)
