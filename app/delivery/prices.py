"""What one SMS costs, by provider and country: the repository's table under the file's.

A price is looked up by the provider's name in ``[prices]``, then by its type there,
then by its type in the default table (``prices.toml``); within a list, by country and
then ``default``. Figures are kept in millionths of the currency (integers, so Redis
sums them exactly).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.delivery.config import DEFAULT_PRICES

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from app.delivery.config import PriceList, Prices

__all__ = ["MICROS", "PriceTable"]

MICROS = 1_000_000


class PriceTable:
    """Prices of every provider account, in millionths of ``currency``."""

    def __init__(self, types: Mapping[str, str], overrides: Prices, currency: str) -> None:
        """``types``: provider name -> adapter type; ``overrides``: ``[prices]``."""
        self._types = types
        self._overrides = overrides
        self.currency = currency
        self._cache: dict[tuple[str, str], int] = {}

    def micros(self, provider: str, country: str) -> int:
        """One SMS through ``provider`` to ``country`` (0 when no list names it)."""
        if (found := self._cache.get((provider, country))) is None:
            found = round(self._price(provider, country) * MICROS)
            self._cache[provider, country] = found
        return found

    def _price(self, provider: str, country: str) -> float:
        kind = self._types.get(provider, provider)
        lists: list[PriceList | None] = [
            self._overrides.get(provider),
            self._overrides.get(kind),
            DEFAULT_PRICES.get(kind),
        ]
        for prices in lists:
            if prices is not None and (country in prices or "default" in prices):
                return prices.get(country, prices.get("default", 0.0))
        return 0.0

    def most(self, providers: Iterable[str], country: str) -> int:
        """The dearest of ``providers`` to ``country``: what a send reserves of a spend
        quota before it knows which of its route's providers will take it."""
        return max((self.micros(p, country) for p in providers), default=0)
