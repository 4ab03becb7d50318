"""MoE token routing: which experts each token visits, and what that costs to move.

Policies (all seeded through ``numpy.random.default_rng(seed)``; same inputs, same result):

``balanced``
    Token ``t`` visits experts ``(t*k + i) mod E`` for ``i < k``: counts differ by at most one
    (equal whenever ``E`` divides ``T*k``), the remainder going to the lowest expert ids.
``uniform``
    Each token draws ``k`` distinct experts uniformly at random.
``power_law`` (``alpha``)
    AIConfigurator's power-law expert load, as its TensorRT-LLM MoE collector draws it
    (ai-dynamo/aiconfigurator ``collector/trtllm/collect_moe.py`` -> ``collector/helper.py``:
    ``power_law_logits_v3`` -> ``_generate_power_law_distribution``, ``sample_power_law`` and
    ``_round_robin_adjust_per_rank``; derivation in ``docs/POWER_LAW_DISTRIBUTION.md``):

    1. draw one load ``x_e`` per expert from the bounded power law ``p(x) ∝ x^-alpha`` on
       ``[x_min, x_max]`` by inverse-CDF sampling,
       ``x = ((x_max^(1-a) - x_min^(1-a)) u + x_min^(1-a))^(1/(1-a))``, ``u ~ U(0, 1)``,
       with ``[x_min, x_max] = [1, 0.8 T]`` when ``T k > E`` and ``[0.01, 2]`` otherwise
       (``alpha == 1`` uses the limit ``x = x_min (x_max/x_min)^u``);
    2. scale to ``T k`` token-slots and round half to even;
    3. a token visits an expert at most once, so clamp every expert at ``T`` tokens and hand the
       clamped overflow back round-robin over the EP groups of ``E/ep`` consecutive experts (group
       0, 1, ..., one token per group with room per pass), inside a group to its least loaded
       expert below ``T`` (lowest id on ties);
    4. fix the rounding remainder the same way: a positive remainder like the overflow, a negative
       one taken one token per pass from each group's most loaded non-empty expert;
    5. swap the most loaded group of ``E/ep`` consecutive experts into group 0 (the collector
       measures EP rank 0, so it measures the bottleneck rank);
    6. token assignment as in AIConfigurator (``_assign_experts_from_counts``): expert ids repeated
       by their counts in descending count order, reshaped to ``(k, T)`` and transposed (no expert
       twice per token, since no count exceeds ``T``), then the token order is shuffled (seeded) so
       that the tokens of each source device are a random sample -- this only affects the traffic
       matrix, not the counts.

    A heavy draw therefore keeps its hot expert at exactly ``T`` tokens (it is clamped, not
    redrawn): at ``T k > E`` with ``alpha`` near 1 the hottest expert usually holds every token.
    (The redraw-until-valid ``power_law_logits_v4`` lives only in AIConfigurator's SGLang
    wide-EP collectors, not in the TensorRT-LLM MoE data.)

    ``alpha == 0`` is AIConfigurator's balanced baseline (``balanced`` above).
``trace``
    A file of token -> expert ids: ``.npy`` (``T x k`` integers), or text (``.csv``/``.txt``,
    one token per line, ids separated by commas or spaces). It must hold at least ``T`` rows;
    the first ``T`` are used.

Tokens originate on devices in contiguous slices (token ``t`` on device ``t * D // T``) and
expert ``e`` sits on device ``e // (E / ep)``. The traffic matrix counts token copies from
source to destination device: a token sends one copy to each distinct device holding one of its
experts (the diagonal is the local part).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from simsparse.errors import WorkloadError, closest

__all__ = ["ROUTING_POLICIES", "Routing", "parse_routing", "power_law_expert_counts", "route_tokens"]

ROUTING_POLICIES: tuple[str, ...] = ("balanced", "uniform", "power_law", "trace")

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Routing:
    """The result of routing ``n_tokens`` tokens to ``top_k`` of ``n_experts`` experts."""

    policy: str
    n_tokens: int
    n_experts: int
    top_k: int
    n_devices: int
    expert_tokens: tuple[int, ...]
    """Tokens per expert (sums to ``n_tokens * top_k``)."""
    expert_device: tuple[int, ...]
    """Device of each expert."""
    device_tokens: tuple[int, ...]
    """Token-rows each device's experts compute (sum of its experts' counts)."""
    traffic_tokens: tuple[int, ...]
    """Token copies sent from device ``i`` (row) to device ``j``, flattened row-major."""
    assignments: IntArray = field(compare=False, repr=False)
    """``n_tokens x top_k`` expert ids."""

    @property
    def traffic_matrix(self) -> IntArray:
        return np.asarray(self.traffic_tokens, dtype=np.int64).reshape(self.n_devices, self.n_devices)


def parse_routing(spec: str) -> tuple[str, dict[str, object]]:
    """``"power_law:1.2"`` -> ``("power_law", {"alpha": 1.2})``; ``"trace:f.npy"`` -> path."""
    policy, _, arg = spec.partition(":")
    if policy not in ROUTING_POLICIES:
        raise WorkloadError(
            f"routing: expected one of {', '.join(ROUTING_POLICIES)}{closest(policy, ROUTING_POLICIES)}, got {spec!r}"
        )
    if policy == "power_law":
        if not arg:
            raise WorkloadError(f"routing: expected 'power_law:<alpha>' (e.g. power_law:1.2), got {spec!r}")
        try:
            return policy, {"alpha": float(arg)}
        except ValueError:
            raise WorkloadError(f"routing: power_law alpha: expected a number, got {arg!r}") from None
    if policy == "trace":
        if not arg:
            raise WorkloadError(f"routing: expected 'trace:<file>', got {spec!r}")
        return policy, {"path": arg}
    if arg:
        raise WorkloadError(f"routing: {policy!r} takes no argument, got {spec!r}")
    return policy, {}


def _sample_power_law(
    rng: np.random.Generator, size: int, alpha: float, xmin: float, xmax: float
) -> npt.NDArray[np.float64]:
    u = rng.random(size)
    if abs(alpha - 1.0) < 1e-12:
        return np.asarray(xmin * (xmax / xmin) ** u, dtype=np.float64)
    e = 1.0 - alpha
    return np.asarray(((xmax**e - xmin**e) * u + xmin**e) ** (1.0 / e), dtype=np.float64)


def power_law_expert_counts(n_tokens: int, n_experts: int, top_k: int, ep: int, alpha: float, seed: int) -> IntArray:
    """Per-expert token counts of AIConfigurator's power-law distribution (module docstring)."""
    if alpha < 0 or not np.isfinite(alpha):
        raise WorkloadError(f"routing: power_law alpha: expected a number >= 0, got {alpha!r}")
    if alpha == 0:
        return _balanced_counts(n_tokens, n_experts, top_k)
    if ep < 1 or n_experts % ep:
        raise WorkloadError(f"routing: ep: expected a divisor of n_experts ({n_experts}), got {ep}")
    rng = np.random.default_rng(seed)
    target = n_tokens * top_k
    if target > n_experts:
        x = _sample_power_law(rng, n_experts, alpha, 1.0, n_tokens * 0.8)
    else:
        x = _sample_power_law(rng, n_experts, alpha, 0.01, 2.0)
    counts = np.round(x / x.sum() * target).astype(np.int64)
    overflow = int(np.maximum(counts - n_tokens, 0).sum())
    counts = np.minimum(counts, n_tokens).reshape(ep, n_experts // ep)
    if overflow:
        _round_robin_adjust(counts, overflow, n_tokens, +1)
    delta = target - int(counts.sum())
    if delta:
        _round_robin_adjust(counts, abs(delta), n_tokens, 1 if delta > 0 else -1)
    return _swap_max_group_first(counts.reshape(-1), ep)


def _round_robin_adjust(counts: IntArray, remaining: int, upper: int, step: int) -> None:
    """AIConfigurator's ``_round_robin_adjust_per_rank`` in closed form, in place on ``(ep, E/ep)``.

    The helper loops: for rank 0, 1, ..., ep-1 (one pass), a rank with a valid expert (below
    ``upper`` when adding, above 0 when taking) moves its least loaded (adding) or most loaded
    (taking) valid expert by one, lowest index on ties, until ``remaining`` tokens are moved or no
    rank can move. After ``P`` full passes rank ``r`` has moved ``min(cap_r, P)``; the last partial
    pass serves the lowest-numbered ranks with capacity left. Inside one rank the repeated argmin
    (argmax) is water filling with ties broken by lowest index.
    """
    cap = ((upper - counts).sum(axis=1) if step > 0 else counts.sum(axis=1)).astype(np.int64)
    remaining = min(remaining, int(cap.sum()))
    lo, hi = 0, int(cap.max(initial=0))
    while lo < hi:  # largest P with sum(min(cap, P)) <= remaining
        mid = (lo + hi + 1) // 2
        if int(np.minimum(cap, mid).sum()) <= remaining:
            lo = mid
        else:
            hi = mid - 1
    moved = np.minimum(cap, lo)
    left = remaining - int(moved.sum())
    for r in np.nonzero(cap > lo)[0][:left]:
        moved[r] += 1
    for r in range(counts.shape[0]):
        if moved[r]:
            counts[r] = (
                _water_fill(counts[r], int(moved[r]), upper) if step > 0 else -_water_fill(-counts[r], int(moved[r]), 0)
            )


def _water_fill(c: IntArray, k: int, upper: int) -> IntArray:
    """``k`` times: add one to the smallest entry below ``upper`` (lowest index on ties)."""
    lo, hi = int(c.min()), upper
    while lo < hi:  # largest level L with sum(max(L - c, 0)) <= k
        mid = (lo + hi + 1) // 2
        if int(np.maximum(mid - c, 0).sum()) <= k:
            lo = mid
        else:
            hi = mid - 1
    out = np.maximum(c, lo)
    extra = k - int((out - c).sum())
    if extra:
        at = np.nonzero(out == lo)[0][:extra]
        out[at] += 1
    result: IntArray = out.astype(np.int64)
    return result


def _swap_max_group_first(counts: IntArray, ep: int) -> IntArray:
    if ep <= 1:
        return counts
    groups = counts.reshape(ep, -1)
    best = int(np.argmax(groups.sum(axis=1)))
    if best:
        groups = groups.copy()
        groups[[0, best]] = groups[[best, 0]]
    return groups.reshape(-1)


def _balanced_counts(n_tokens: int, n_experts: int, top_k: int) -> IntArray:
    total = n_tokens * top_k
    counts = np.full(n_experts, total // n_experts, dtype=np.int64)
    counts[: total % n_experts] += 1
    return counts


def _assign_from_counts(counts: IntArray, n_tokens: int, top_k: int) -> IntArray:
    order = np.argsort(-counts, kind="stable")
    expanded = np.repeat(order, counts[order])
    return np.ascontiguousarray(expanded.reshape(top_k, n_tokens).T)


def _read_trace(path: str | os.PathLike[str], n_tokens: int, n_experts: int, top_k: int) -> IntArray:
    p = Path(path)
    if not p.is_file():
        raise WorkloadError(f"routing trace {str(p)!r}: expected an existing file")
    try:
        if p.suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        else:
            rows = []
            for line in p.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                rows.append([int(x) for x in line.replace(",", " ").split()])
            arr = np.asarray(rows)
    except (ValueError, OSError) as exc:
        raise WorkloadError(
            f"routing trace {str(p)!r}: expected token -> expert ids (integers), could not read ({exc})"
        ) from None
    if arr.ndim != 2 or arr.shape[1] != top_k:
        raise WorkloadError(
            f"routing trace {str(p)!r}: expected a (tokens x top_k={top_k}) table of expert ids, got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise WorkloadError(f"routing trace {str(p)!r}: expected integer expert ids, got dtype {arr.dtype}")
    if arr.shape[0] < n_tokens:
        raise WorkloadError(f"routing trace {str(p)!r}: expected at least {n_tokens} tokens (rows), got {arr.shape[0]}")
    arr = arr[:n_tokens].astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_experts):
        raise WorkloadError(
            f"routing trace {str(p)!r}: expected expert ids in [0, {n_experts}), got {int(arr.min())}..{int(arr.max())}"
        )
    srt = np.sort(arr, axis=1)
    if top_k > 1 and np.any(srt[:, 1:] == srt[:, :-1]):
        row = int(np.nonzero(np.any(srt[:, 1:] == srt[:, :-1], axis=1))[0][0])
        raise WorkloadError(
            f"routing trace {str(p)!r}: row {row + 1}: expected {top_k} distinct experts, got {arr[row].tolist()}"
        )
    result: IntArray = arr
    return result


def route_tokens(
    policy: str,
    *,
    n_tokens: int,
    n_experts: int,
    top_k: int,
    ep: int = 1,
    n_devices: int | None = None,
    alpha: float | None = None,
    path: str | os.PathLike[str] | None = None,
    seed: int = 0,
) -> Routing:
    """Route ``n_tokens`` tokens to ``top_k`` of ``n_experts`` experts placed on ``ep`` devices.

    ``n_devices`` (default ``ep``) is the number of devices the tokens start on; with ``ep > 1``
    it must equal ``ep``. ``policy`` may carry its argument (``"power_law:1.2"``).
    """
    if ":" in policy:
        policy, args = parse_routing(policy)
        alpha = alpha if alpha is not None else args.get("alpha")  # type: ignore[assignment]
        path = path if path is not None else args.get("path")  # type: ignore[assignment]
    if policy not in ROUTING_POLICIES:
        raise WorkloadError(
            f"routing: expected one of {', '.join(ROUTING_POLICIES)}{closest(policy, ROUTING_POLICIES)}, got {policy!r}"
        )
    if n_tokens < 1 or n_experts < 1:
        raise WorkloadError(f"routing: expected n_tokens >= 1 and n_experts >= 1, got {n_tokens} and {n_experts}")
    if not 1 <= top_k <= n_experts:
        raise WorkloadError(f"routing: top_k: expected an integer in [1, {n_experts}], got {top_k}")
    if ep < 1 or n_experts % ep:
        raise WorkloadError(f"routing: ep: expected a divisor of n_experts ({n_experts}), got {ep}")
    n_dev = ep if n_devices is None else n_devices
    if ep > 1 and n_dev != ep:
        raise WorkloadError(f"routing: n_devices: expected ep ({ep}) with expert parallelism, got {n_dev}")
    rng = np.random.default_rng(seed)
    if policy == "balanced":
        slots = np.arange(n_tokens * top_k, dtype=np.int64)
        assign = (slots % n_experts).reshape(n_tokens, top_k)
    elif policy == "uniform":
        assign = np.empty((n_tokens, top_k), dtype=np.int64)
        chunk = max(1, 4_000_000 // n_experts)
        for start in range(0, n_tokens, chunk):
            stop = min(n_tokens, start + chunk)
            keys = rng.random((stop - start, n_experts))
            assign[start:stop] = np.argpartition(keys, top_k - 1, axis=1)[:, :top_k]
    elif policy == "power_law":
        if alpha is None:
            raise WorkloadError(
                "routing: power_law: expected alpha (e.g. route('power_law', alpha=1.2) or 'power_law:1.2')"
            )
        counts = power_law_expert_counts(n_tokens, n_experts, top_k, ep, float(alpha), seed)
        assign = _assign_from_counts(counts, n_tokens, top_k)[rng.permutation(n_tokens)]
    else:
        if path is None:
            raise WorkloadError("routing: trace: expected a file (route('trace', path=...) or 'trace:<file>')")
        assign = _read_trace(path, n_tokens, n_experts, top_k)
    expert_tokens = np.bincount(assign.ravel(), minlength=n_experts).astype(np.int64)
    per_dev = n_experts // ep
    expert_device = np.arange(n_experts, dtype=np.int64) // per_dev
    device_tokens = np.bincount(expert_device, weights=expert_tokens, minlength=ep).astype(np.int64)
    src = (np.arange(n_tokens, dtype=np.int64) * n_dev) // n_tokens
    dst = expert_device[assign] if ep > 1 else np.zeros_like(assign)
    traffic = np.zeros((n_dev, n_dev), dtype=np.int64)
    # one copy per (token, destination device)
    dst_sorted = np.sort(dst, axis=1)
    first = np.ones_like(dst_sorted, dtype=bool)
    first[:, 1:] = dst_sorted[:, 1:] != dst_sorted[:, :-1]
    rows = np.broadcast_to(src[:, None], dst_sorted.shape)
    np.add.at(traffic, (rows[first], dst_sorted[first]), 1)
    assign.setflags(write=False)
    label = (
        policy
        if policy not in ("power_law", "trace")
        else (f"power_law:{alpha:g}" if policy == "power_law" else f"trace:{path}")
    )
    return Routing(
        policy=label,
        n_tokens=n_tokens,
        n_experts=n_experts,
        top_k=top_k,
        n_devices=n_dev,
        expert_tokens=tuple(int(x) for x in expert_tokens),
        expert_device=tuple(int(x) for x in expert_device),
        device_tokens=tuple(int(x) for x in device_tokens),
        traffic_tokens=tuple(int(x) for x in traffic.ravel()),
        assignments=assign,
    )
