"""The abuse policy around sends and checks: what runs before, and what is counted after.

Order of a send: test numbers (exempt from everything), client IP lists, geo
permissions, number type, active blocks, the pumping guards, the rate limits, and
last the app's pre-send hook, so that throttled floods never reach it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec

from app.abuse import policy
from app.abuse.hook import HookRequest, ask_hook
from app.abuse.throttle import RuleState, counters, send_counters
from app.errors import OtpgateError
from app.phone import normalize_phone, phone_digest

if TYPE_CHECKING:
    import httpx

    from app.abuse.guards import Block, BlockStore, ConversionGuard, PrefixVelocity
    from app.abuse.rules import AppPolicies
    from app.abuse.throttle import RateCounter, RuleName, Throttle
    from app.phone import Phone

__all__ = ["AbuseService", "Clearance"]


class Clearance(msgspec.Struct, frozen=True):
    """A send may go ahead: with a fixed code (a test number), and the limits it took."""

    test_code: str | None = None
    limits: list[RuleState] = msgspec.field(default_factory=list)


class AbuseService:
    def __init__(
        self,
        *,
        policies: AppPolicies,
        throttle: Throttle,
        blocks: BlockStore,
        velocity: PrefixVelocity,
        conversion: ConversionGuard,
        http: httpx.AsyncClient,
        pepper: bytes,
    ) -> None:
        self._policies = policies
        self._throttle = throttle
        self._blocks = blocks
        self._velocity = velocity
        self._conversion = conversion
        self._http = http
        self._pepper = pepper

    # -- sends -----------------------------------------------------------------------

    async def clear_send(
        self, app: str, phone: Phone, number: str, client_ip: str | None, purpose: str
    ) -> Clearance:
        """Everything that must hold before a code goes to ``phone``; raises if not."""
        rules = self._policies.abuse(app)
        test = policy.test_number(rules, phone.e164, datetime.now(UTC))
        if test is not None:
            return Clearance(test_code=test.code)
        policy.check_client_ip(rules, client_ip)
        policy.check_country(rules, phone)
        policy.check_number_type(rules, phone)
        if not policy.is_safe(rules, phone.e164):
            await self._guard_pumping(app, phone, number)
        taken = await self._throttle.acquire(self._send_counters(app, phone, number, client_ip))
        if rules.hook_url:
            await ask_hook(
                self._http, rules, HookRequest(app, phone.e164, phone.region, client_ip, purpose)
            )
        return Clearance(limits=taken)

    def _send_counters(
        self, app: str, phone: Phone, number: str, client_ip: str | None
    ) -> list[RateCounter]:
        rules = self._policies.limits(app)
        network = policy.client_network(client_ip, rules.ipv6_prefix) if client_ip else None
        return send_counters(rules, app, number, network, phone.region)

    async def _guard_pumping(self, app: str, phone: Phone, number: str) -> None:
        rules = self._policies.abuse(app)
        prefix = policy.number_prefix(phone.e164, rules.prefix_digits)
        block = await self._blocks.matching(app, prefix, phone.region)
        if block is not None:
            raise _suspected(block)
        distinct = await self._velocity.record(app, prefix, number, rules.prefix_window)
        if distinct > rules.prefix_max_numbers:
            raise _suspected(
                await self._blocks.add(
                    app, "prefix", prefix,
                    f"{distinct} numbers under {prefix} within {rules.prefix_window:g} s",
                    rules.prefix_block,
                )
            )  # fmt: skip
        started, approved = await self._conversion.counts(
            app, phone.region, rules.conversion_window
        )
        if started >= rules.conversion_min_sends and approved < rules.conversion_min_rate * started:
            raise _suspected(
                await self._blocks.add(
                    app, "country", phone.region,
                    f"{approved} of {started} verifications approved within "
                    f"{rules.conversion_window:g} s",
                    rules.conversion_hold,
                )
            )  # fmt: skip

    async def verification_started(self, app: str, country: str) -> None:
        await self._conversion.started(app, country, self._policies.abuse(app).conversion_window)

    # -- checks ----------------------------------------------------------------------

    def _check_counters(self, app: str, number: str) -> list[RateCounter]:
        return counters(
            "wrong_checks_per_number",
            self._policies.limits(app).wrong_checks_per_number,
            app,
            number,
        )

    async def clear_check(self, app: str, number: str, client_ip: str | None) -> None:
        """Refuse a check when the number's wrong-code budget or the IP's checks are spent."""
        await self._throttle.ensure_available(self._check_counters(app, number))
        if client_ip is not None:
            rules = self._policies.limits(app)
            network = policy.client_network(client_ip, rules.ipv6_prefix)
            await self._throttle.acquire(
                counters("checks_per_ip", rules.checks_per_ip, app, network)
            )

    async def wrong_code(self, app: str, number: str) -> None:
        await self._throttle.hit(self._check_counters(app, number))

    async def approved(self, app: str, country: str) -> None:
        await self._conversion.approved(app, country, self._policies.abuse(app).conversion_window)

    # -- dashboards ------------------------------------------------------------------

    def _dashboard_counters(
        self, app: str, to: str | None, country: str | None, client_ip: str | None
    ) -> list[RateCounter]:
        rules = self._policies.limits(app)
        network = None if client_ip is None else policy.client_network(client_ip, rules.ipv6_prefix)
        found = counters("send_per_app", rules.send_per_app, app)
        if to is not None:
            phone = normalize_phone(to, country)
            number = phone_digest(self._pepper, phone.e164)
            found += [
                *counters("send_per_number", rules.send_per_number, app, number),
                *self._check_counters(app, number),
                *counters("send_per_country", rules.send_per_country, app, phone.region),
            ]
        if network is not None:
            found += [
                *counters("send_per_ip", rules.send_per_ip, app, network),
                *counters("checks_per_ip", rules.checks_per_ip, app, network),
            ]
        return found

    async def limits(
        self, app: str, to: str | None, country: str | None, client_ip: str | None
    ) -> list[RuleState]:
        """Every rule that applies to the number and/or IP, and where it stands."""
        return await self._throttle.states(self._dashboard_counters(app, to, country, client_ip))

    async def reset_limits(
        self, app: str, to: str | None, country: str | None, client_ip: str | None
    ) -> list[RuleName]:
        """Clear the counters of a number and/or an IP (a support desk unlocking a user).

        App and country budgets are left alone: one user's unlock must not reset them.
        """
        if to is None and client_ip is None:
            raise OtpgateError("invalid_request", "give `to` and/or `client_ip`")
        wanted = [
            counter
            for counter in self._dashboard_counters(app, to, country, client_ip)
            if counter.rule not in {"send_per_app", "send_per_country"}
        ]
        await self._throttle.clear(wanted)
        return sorted({counter.rule for counter in wanted})

    async def blocks(self, app: str) -> list[Block]:
        return await self._blocks.active(app)

    async def lift_block(self, app: str, block_id: str) -> Block:
        """Lift a block and forget the evidence that set it, so it does not trip again at once."""
        block = await self._blocks.lift(app, block_id)
        if block is None:
            raise OtpgateError("block_not_found", f"no active block {block_id!r}")
        if block.kind == "prefix":
            await self._velocity.reset(app, block.subject)
        if block.kind == "country":
            await self._conversion.reset(
                app, block.subject, self._policies.abuse(app).conversion_window
            )
        return block


def _suspected(block: Block) -> OtpgateError:
    return OtpgateError(
        "suspected_fraud",
        f"sends to this {block.kind} are blocked: {block.reason}",
        retry_after=max(1.0, block.until - time.time()),
        block_id=block.id,
    )
