"""The abuse policy around sends and checks: what runs before, and what is counted after.

Order of a send: test numbers (exempt from everything; a run-time entry before the
file's), client IP lists, geo permissions, number type (all pure), then in the send's
first round trip the blocks, the pumping guards and the rate limits
(:mod:`app.abuse.admission`), and last the app's pre-send hook, so that throttled floods
never reach it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import msgspec

from app.abuse import policy
from app.abuse.admission import (
    LIMITED,
    SendAdmission,
    number_counter,
    queue_give_back,
    refusal_error,
)
from app.abuse.guards import Block
from app.abuse.hook import HookRequest, ask_hook
from app.abuse.quota import QuotaPart, QuotaTaken, queue_quota
from app.abuse.throttle import RuleState, counter, state
from app.emails import is_email, normalize_email
from app.errors import OtpgateError
from app.phone import normalize_phone
from app.store.throttles import Counter, Refusal, queue_counters, read_counters

if TYPE_CHECKING:
    import httpx

    from app.abuse.guards import BlockStore
    from app.abuse.policy import ListedNumbers
    from app.abuse.rules import AppPolicies
    from app.abuse.throttle import RuleName
    from app.phone import Phone
    from app.store.keys import Keys
    from app.store.redis import Batch, Scripts

__all__ = ["AbuseService", "Clearance"]


class Clearance(msgspec.Struct, frozen=True):
    """A send may go ahead: with a fixed code (a test number), the limits it took, and
    what it took (given back if a later step refuses the send)."""

    test_code: str | None = None
    limits: list[RuleState] = msgspec.field(default_factory=list)
    taken: list[tuple[list[Counter], int]] = msgspec.field(default_factory=list)
    #: what it reserved of the app's quota, and the soft caps it passed first
    quota: QuotaTaken | None = None
    passed: list[str] = msgspec.field(default_factory=list)


class AbuseService:
    def __init__(
        self,
        *,
        policies: AppPolicies,
        blocks: BlockStore,
        scripts: Scripts,
        keys: Keys,
        http: httpx.AsyncClient,
        listed: ListedNumbers,
    ) -> None:
        self._policies = policies
        self._listed = listed
        self._blocks = blocks
        self._scripts = scripts
        self._keys = keys
        self._http = http

    # -- sends -----------------------------------------------------------------------

    def admit_send(
        self, app: str, phone: Phone | None, number: str, client_ip: str | None, price: int = 0
    ) -> str | SendAdmission:
        """The pure checks of a send (raising if one refuses); a test number's fixed
        code, or the parts its first round trip must run. ``phone`` None: an email
        address (``number`` its digest), which only the rules of IPs, the app's budget,
        its quota and the recipient's throttle concern. ``price``: what the send reserves
        of the app's spend quota (millionths)."""
        rules, now = self._policies.abuse(app), time.time()
        code = None if phone is None else self._listed.test_code(app, number, now)
        if code is None and phone is not None:
            test = policy.test_number(rules, phone.e164, datetime.fromtimestamp(now, UTC))
            code = None if test is None else test.code
        if code is not None:
            return code
        policy.check_client_ip(rules, client_ip)
        if phone is not None:
            policy.check_country(rules, phone)
            policy.check_number_type(rules, phone)
        limits = self._policies.limits(app)
        network = policy.client_network(client_ip, limits.ipv6_prefix) if client_ip else None
        own = self._policies.quota(app)
        at = datetime.fromtimestamp(now, UTC)
        quota = None if own is None else QuotaPart(self._keys, app, own, price, at)
        safe = (
            phone is None
            or policy.is_safe(rules, phone.e164)
            or self._listed.safe(app, number, now)
        )
        return SendAdmission(
            self._keys, app, phone, number, network, limits, rules, quota, safe=safe
        )

    def send_counter(self, app: str, subject: str) -> Counter | None:
        """The number's send throttle, which the store's send script checks and takes."""
        limits = self._policies.limits(app).send_per_number
        return number_counter(self._keys, subject, "send_per_number", limits)

    async def settle_send(
        self,
        app: str,
        admission: SendAdmission,
        results: list[Any],
        request: HookRequest,
        refused: OtpgateError | None = None,
        number_refusal: Refusal | None = None,
    ) -> Clearance:
        """Read the first round trip's answers; raise the refusal (after giving back
        what was taken, and listing new blocks), else ask the app's hook.

        ``refused``: the store's own refusal (the cooldown, the send budget), which comes
        first; ``number_refusal``: the number's throttle, the first of the throttles.
        """
        admitted, refusals = admission.read(results)
        if number_refusal is not None:
            refusals.insert(0, (LIMITED, number_refusal))
        cleared = Clearance(
            limits=admitted.limits, taken=admitted.taken, quota=admitted.quota,
            passed=admitted.passed,
        )  # fmt: skip
        if refusals or refused is not None:
            await self._undo(cleared, [r for _, r in refusals if isinstance(r, Block)])
            raise refused or refusal_error(refusals)
        rules = self._policies.abuse(app)
        if rules.hook_url:
            try:
                await ask_hook(self._http, rules, request)
            except OtpgateError:
                await self.give_back(cleared)
                raise
        return cleared

    async def _undo(self, cleared: Clearance, blocks: list[Block]) -> None:
        await self.give_back(cleared)
        for block in blocks:
            await self._blocks.index(block)  # no-op when already listed

    async def give_back(self, cleared: Clearance) -> None:
        """Return what a send took when a later step refused it."""
        if cleared.taken or cleared.quota:
            batch = self._scripts.batch()
            queue_give_back(batch, cleared.taken, cleared.quota)
            await batch.run()

    @staticmethod
    def settle_quota(batch: Batch, cleared: Clearance, price: int | None) -> None:
        """Queue what a send costs the app's quota once it is known: ``price`` of the
        provider that took it, or None when no provider did (all of it given back)."""
        if cleared.quota is None:
            return
        if price is None:
            queue_quota(batch, cleared.quota, "give", 1, cleared.quota.micros)
        elif price != cleared.quota.micros:
            queue_quota(batch, cleared.quota, "cost", 0, price - cleared.quota.micros)

    def started(self, batch: Batch, app: str, country: str) -> None:
        """Count a verification started, for the conversion guard (in the record step)."""
        self._conversion(batch, app, country, "S", 1)

    def approved(self, batch: Batch, app: str, country: str, amount: int = 1) -> None:
        """Count an approval (``amount`` -1: take back one counted before it was sure)."""
        self._conversion(batch, app, country, "A", amount)

    def _conversion(self, batch: Batch, app: str, country: str, which: str, amount: int) -> None:
        if not country:  # an email address: the guard watches countries of numbers
            return
        window = int(self._policies.abuse(app).conversion_window * 1000)
        key = self._keys.country(app, country, "cv")
        batch.script("conversion_hit", [key], [which, window, amount])

    # -- checks ----------------------------------------------------------------------

    def wrong_counter(self, app: str, subject: str) -> Counter | None:
        """The number's wrong-code budget, read and taken by the store's check scripts."""
        limits = self._policies.limits(app).wrong_checks_per_number
        return number_counter(self._keys, subject, "wrong_checks_per_number", limits)

    def queue_check(
        self, batch: Batch, app: str, client_ip: str | None
    ) -> tuple[list[Counter], int | None]:
        """Queue the checks-per-IP throttle (none without a ``client_ip``): its counters
        and the index of its answer in ``batch``."""
        if client_ip is None:
            return [], None
        limits = self._policies.limits(app)
        network = policy.client_network(client_ip, limits.ipv6_prefix)
        found = counter(
            "checks_per_ip", self._keys.network_window(app, network, "ci"), limits.checks_per_ip
        )
        return found, queue_counters(batch, found, "take") if found else None

    @staticmethod
    def read_check(counters: list[Counter], result: Any) -> tuple[list[Counter], int] | Refusal:
        answer = read_counters(counters, result)
        return answer if isinstance(answer, Refusal) else (counters, answer[0])

    # -- dashboards ------------------------------------------------------------------

    def _dashboard_counters(
        self, app: str, to: str | None, country: str | None, client_ip: str | None
    ) -> list[list[Counter]]:
        """Every counter of the number and/or IP, grouped by slot."""
        rules = self._policies.limits(app)
        network = None if client_ip is None else policy.client_network(client_ip, rules.ipv6_prefix)
        groups = [counter("send_per_app", self._keys.app_window(app), rules.send_per_app)]
        if to is not None:  # a number (every channel's), or an email address
            phone = None if is_email(to) else normalize_phone(to, country)
            number = (
                self._keys.email(normalize_email(to))
                if phone is None
                else self._keys.number(phone.e164)
            )
            subject = self._keys.subject(app, number)
            groups.append(
                [c for c in (self.send_counter(app, subject), self.wrong_counter(app, subject))
                 if c is not None]
            )  # fmt: skip
            if phone is not None:
                key = self._keys.country(app, phone.region, "w")
                groups.append(counter("send_per_country", key, rules.send_per_country))
        if network is not None:
            sends = self._keys.network_window(app, network, "si")
            checks = self._keys.network_window(app, network, "ci")
            groups.append(counter("send_per_ip", sends, rules.send_per_ip))
            groups.append(counter("checks_per_ip", checks, rules.checks_per_ip))
        return [group for group in groups if group]

    async def limits(
        self, app: str, to: str | None, country: str | None, client_ip: str | None
    ) -> list[RuleState]:
        """Every rule that applies to the number and/or IP, and where it stands."""
        groups = self._dashboard_counters(app, to, country, client_ip)
        batch = self._scripts.batch()
        for group in groups:
            queue_counters(batch, group, "view")
        results = await batch.run()
        found: list[RuleState] = []
        for group, result in zip(groups, results, strict=True):
            answer = read_counters(group, result)
            assert not isinstance(answer, Refusal)  # a view refuses nothing
            found += [state(room) for room in answer[1]]
        return found

    async def reset_limits(
        self, app: str, to: str | None, country: str | None, client_ip: str | None
    ) -> list[RuleName]:
        """Clear the counters of a number and/or an IP (a support desk unlocking a user).

        App and country budgets are left alone: one user's unlock must not reset them.
        """
        if to is None and client_ip is None:
            raise OtpgateError("invalid_request", "give `to` and/or `client_ip`")
        wanted = [
            c
            for group in self._dashboard_counters(app, to, country, client_ip)
            for c in group
            if c.rule not in {"send_per_app", "send_per_country"}
        ]
        batch = self._scripts.batch()
        for found in wanted:
            batch.command("DEL", found.key)
        await batch.run()
        return cast("list[RuleName]", sorted({found.rule for found in wanted}))

    async def blocks(self, app: str) -> list[Block]:
        return await self._blocks.active(app)

    async def lift_block(self, app: str, block_id: str) -> Block:
        """Lift a block and forget the evidence that set it, so it does not trip again at once."""
        block = await self._blocks.lift(app, block_id)
        if block is None:
            raise OtpgateError("block_not_found", f"no active block {block_id!r}")
        return block
