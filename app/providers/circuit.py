"""A circuit breaker per provider, its state in Redis so every worker and instance
shares it (two Lua scripts: ``circuit_allow`` and ``circuit_record``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from app.providers.config import CircuitSettings
from app.store.keys import Keys

if TYPE_CHECKING:
    from app.store.redis import Batch, Scripts, StoreClient

__all__ = ["CircuitBreaker", "CircuitSettings", "CircuitState", "ProviderHealth"]

CircuitState = Literal["closed", "open", "half_open"]


class ProviderHealth(msgspec.Struct, frozen=True):
    """A provider's circuit and its recent figures."""

    state: Annotated[
        CircuitState,
        msgspec.Meta(
            description="`closed`: in use; `open`: skipped; `half_open`: one probe let through."
        ),
    ]
    consecutive_failures: Annotated[
        int, msgspec.Meta(description="Failures since the last success.")
    ]
    attempts: Annotated[int, msgspec.Meta(description="Attempts within the circuit's window.")]
    success_rate: Annotated[
        float | None, msgspec.Meta(description="Their share of successes (null: none).")
    ]
    p50_ms: Annotated[float | None, msgspec.Meta(description="Median latency of recent attempts.")]
    p95_ms: Annotated[float | None, msgspec.Meta(description="95th percentile latency.")]


def _keys(provider: str) -> list[str]:
    return [Keys.circuit(provider), Keys.circuit_latency(provider)]


def _percentile(values: list[float], percent: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(percent / 100 * len(ordered)))]


class CircuitBreaker:
    def __init__(self, client: StoreClient, scripts: Scripts, settings: CircuitSettings) -> None:
        self._client = client
        self._scripts = scripts
        self._settings = settings

    def queue_allow(self, batch: Batch, provider: str) -> int:
        """Queue asking whether an attempt may go to ``provider`` now (half-open: one probe
        at a time); :meth:`read_allow` reads the answer."""
        s = self._settings
        return batch.script(
            "circuit_allow",
            _keys(provider)[:1],
            [int(s.open_for * 1000), int(s.probe_timeout * 1000)],
        )

    @staticmethod
    def read_allow(result: list[Any]) -> bool:
        return bool(int(result[1]))

    async def allow(self, provider: str) -> bool:
        """Whether an attempt may go to ``provider`` now, in a round trip of its own."""
        batch = self._scripts.batch()
        self.queue_allow(batch, provider)
        return self.read_allow((await batch.run())[0])

    def queue_record(self, batch: Batch, provider: str, *, ok: bool, latency_ms: float) -> int:
        """Queue counting an attempt; an error of the number (permanent) counts as the
        provider working."""
        s = self._settings
        return batch.script(
            "circuit_record",
            _keys(provider),
            [
                1 if ok else 0, round(latency_ms, 1), s.failures, int(s.window * 1000),
                s.min_requests, s.error_rate,
            ],
        )  # fmt: skip

    async def record(self, provider: str, *, ok: bool, latency_ms: float) -> CircuitState:
        """Count an attempt in a round trip of its own; the circuit's state after it."""
        batch = self._scripts.batch()
        self.queue_record(batch, provider, ok=ok, latency_ms=latency_ms)
        state: CircuitState = (await batch.run())[0][0]
        return state

    async def health(self, provider: str) -> ProviderHealth:
        circuit, latencies = _keys(provider)
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hgetall(circuit)
            pipe.lrange(latencies, 0, -1)
            fields, recent = await pipe.execute()
        succeeded = sum(int(v) for k, v in fields.items() if k.endswith(":ok"))
        failed = sum(int(v) for k, v in fields.items() if k.endswith(":fail"))
        attempts = succeeded + failed
        values = [float(v) for v in recent]
        return ProviderHealth(
            state=fields.get("state", "closed"),
            consecutive_failures=int(fields.get("failures", 0)),
            attempts=attempts,
            success_rate=succeeded / attempts if attempts else None,
            p50_ms=_percentile(values, 50),
            p95_ms=_percentile(values, 95),
        )
