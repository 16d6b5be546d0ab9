"""What the Twilio-compatible routes call: services, verifications, the safe list and
attempts, each a translation over otpgate's own services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.twilio_verify.insights import Insights, SafeList
from app.twilio_verify.verifications import TwilioVerifications
from app.twilio_verify.verify_services import VerifyServices

if TYPE_CHECKING:
    from app.apps.numbers import NumberLists
    from app.apps.registry import AppRegistry
    from app.delivery.attempts import AttemptLog
    from app.delivery.usage import UsageReader
    from app.settings import Settings
    from app.store.keys import Keys
    from app.verify.service import VerificationService

__all__ = ["TwilioVerify"]


class TwilioVerify:
    """Twilio Verify v2 over otpgate."""

    def __init__(  # the services it translates, by position (one line in assembly.py)
        self,
        settings: Settings,
        apps: AppRegistry,
        verifications: VerificationService,
        numbers: NumberLists,
        attempts: AttemptLog,
        usage: UsageReader,
        keys: Keys,
    ) -> None:
        self.services = VerifyServices(apps)
        self.verifications = TwilioVerifications(verifications, settings)
        self.safelist = SafeList(numbers, keys)
        self.insights = Insights(attempts, verifications, usage, keys)
