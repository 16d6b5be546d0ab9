"""Every Redis key name otpgate uses, built here and nowhere else.

Keys are grouped by Redis Cluster hash tag, so that each script touches one slot:

- ``{n<tag>}``: one (app, number): its verifications (records and per-purpose indexes)
  and its per-number throttles. A number's *subject* (13 characters derived from the app
  and the number's digest: the 5-character tag, then 8 that tell numbers of one tag
  apart) begins every verification id, so the id alone names the slot and the number's
  throttles.
- ``{i<tag>}``: one client network's throttles; ``{a<tag>}``: one app's budget;
  ``{c<tag>}``: one (app, country): its budget, conversion counters and block;
  ``{p<tag>}``: one (app, number prefix): its distinct-number set and block.
- ``{events}``, ``{<provider>}`` (circuits), ``{<app>}`` (statistics, idempotency).

No key contains a phone number, an IP address or a code: they appear only as keyed
digests. Names are short on purpose: a key's name is stored with it, and a stored
verification should cost well under a kilobyte.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from app.ids import ID_LENGTH, base32, is_verification_id, random_id
from app.phone import phone_digest

__all__ = ["PREFIX", "SUBJECT_LENGTH", "TAG_LENGTH", "Keys", "short_digest"]

PREFIX = "otp:"
#: Characters of a slot tag: 25 bits, which spread keys over all 16,384 cluster slots.
TAG_LENGTH = 5
#: Characters of a number's subject: its tag and 40 more bits.
SUBJECT_LENGTH = 13


def short_digest(pepper: bytes, *parts: str, size: int = 16) -> str:
    """A keyed digest of ``parts`` as unpadded base64url (``size`` bytes: 22 characters
    for 16): what stands for a number, an IP or a lookup in names and records."""
    mac = hmac.new(pepper, "\x00".join(parts).encode(), hashlib.sha256).digest()[:size]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _tag(pepper: bytes, *parts: str, length: int = TAG_LENGTH) -> str:
    mac = hmac.new(pepper, "\x00".join(("tag", *parts)).encode(), hashlib.sha256).digest()
    return base32(mac, length)


def _digest(*parts: str) -> str:
    """An unkeyed short name for ``parts`` (for subjects that are not personal data)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]


class Keys:
    """Key names for one deployment; ``pepper`` keys every digest."""

    def __init__(self, pepper: bytes) -> None:
        self._pepper = pepper
        # Names of apps and countries are few and asked for on every send: kept. Names
        # that stand for numbers, networks or prefixes are made afresh each time.
        self._bounded: dict[tuple[str, ...], str] = {}

    # -- digests -------------------------------------------------------------------------

    def number(self, e164: str) -> str:
        """The digest that stands for a phone number everywhere in Redis."""
        return phone_digest(self._pepper, e164)

    def lookup(self, app: str, number: str, purpose: str) -> str:
        """The digest naming (app, number, purpose): its index of verifications."""
        return short_digest(self._pepper, "lookup", app, number, purpose)

    def subject(self, app: str, number: str) -> str:
        """The subject of (app, number): its slot tag and what tells it from others there."""
        return _tag(self._pepper, "number", app, number, length=SUBJECT_LENGTH)

    @staticmethod
    def subject_of(verification_id: str) -> str:
        return verification_id[4 : 4 + SUBJECT_LENGTH]

    # -- verifications -------------------------------------------------------------------

    @staticmethod
    def new_verification_id(subject: str) -> str:
        return "ver_" + subject + random_id("", ID_LENGTH - SUBJECT_LENGTH)

    is_verification_id = staticmethod(is_verification_id)

    @staticmethod
    def verification(verification_id: str) -> str:
        """The record of a verification (a hash), in its number's slot."""
        tag, rest = verification_id[4 : 4 + TAG_LENGTH], verification_id[4 + TAG_LENGTH :]
        return f"{PREFIX}{{n{tag}}}:v:{rest}"

    @staticmethod
    def index(subject: str, lookup: str) -> str:
        """The newest verification of (app, number, purpose) and, while it is pending,
        its send state: ``"<id> <last send> <sends> <max sends> <cooldown> <pending until>"``."""
        return f"{PREFIX}{{n{subject[:TAG_LENGTH]}}}:i:{lookup}"

    @staticmethod
    def number_window(subject: str, rule: str) -> str:
        """A per-number throttle (``rule``: ``sn`` sends, ``wn`` wrong codes)."""
        return f"{PREFIX}{{n{subject[:TAG_LENGTH]}}}:w:{rule}:{subject[TAG_LENGTH:]}"

    @staticmethod
    def provider_message(provider: str, provider_message_id: str) -> str:
        """Points from a provider's message id to ``"<verification id> <message number>"``.

        No hash tag: these keys spread over the cluster, one lookup each.
        """
        return f"{PREFIX}x:{provider}:{provider_message_id}"

    # -- TOTP factors ----------------------------------------------------------------------

    def factor_subject(self, app: str, subject: str) -> str:
        """The digest of an app's user (``subject``): its factors' slot tag and name."""
        return _tag(self._pepper, "factor", app, subject, length=SUBJECT_LENGTH)

    @staticmethod
    def new_factor_id(subject: str) -> str:
        return "fac_" + subject + random_id("", ID_LENGTH - SUBJECT_LENGTH)

    @staticmethod
    def is_factor_id(value: str) -> bool:
        return value.startswith("fac_") and is_verification_id("ver_" + value[4:])

    @staticmethod
    def subject_of_factor(factor_id: str) -> str:
        return factor_id[4 : 4 + SUBJECT_LENGTH]

    @staticmethod
    def factor(factor_id: str) -> str:
        """A factor's record (a hash), in its subject's slot."""
        tag, rest = factor_id[4 : 4 + TAG_LENGTH], factor_id[4 + TAG_LENGTH :]
        return f"{PREFIX}{{f{tag}}}:f:{rest}"

    @staticmethod
    def factor_failures(subject: str) -> str:
        """The subject's consecutive wrong codes, across all its factors (a counter)."""
        return f"{PREFIX}{{f{subject[:TAG_LENGTH]}}}:ff:{subject[TAG_LENGTH:]}"

    @staticmethod
    def factor_index(subject: str) -> str:
        """The ids of the subject's factors (a set)."""
        return f"{PREFIX}{{f{subject[:TAG_LENGTH]}}}:fi:{subject[TAG_LENGTH:]}"

    # -- throttles and guards ------------------------------------------------------------

    def network_window(self, app: str, network: str, rule: str) -> str:
        """A client network's throttle (``rule``: ``si`` sends, ``ci`` checks)."""
        digest = short_digest(self._pepper, "network", app, network, size=12)
        return f"{PREFIX}{{i{_tag(self._pepper, 'network', app, network)}}}:w:{rule}:{digest}"

    def app_window(self, app: str) -> str:
        """The app's send budget."""
        if (name := self._bounded.get(("a", app))) is None:
            name = f"{PREFIX}{{a{_tag(self._pepper, 'app', app)}}}:w:sa:{_digest(app)}"
            self._bounded["a", app] = name
        return name

    def quota(self, app: str, at: datetime) -> tuple[str, str]:
        """The app's sends and spend in the UTC day and the UTC month of ``at``, in the
        slot of its send budget."""
        if (name := self._bounded.get(("q", app))) is None:
            name = f"{PREFIX}{{a{_tag(self._pepper, 'app', app)}}}:q:{_digest(app)}"
            self._bounded["q", app] = name
        utc = at.astimezone(UTC)
        return f"{name}:{utc:d%Y%m%d}", f"{name}:{utc:m%Y%m}"

    def country(self, app: str, country: str, what: str) -> str:
        """One (app, country): ``w`` its send budget, ``cv`` its conversion counters,
        ``b`` its block."""
        if (name := self._bounded.get(("c", app, country, what))) is None:
            tag = _tag(self._pepper, "country", app, country)
            name = f"{PREFIX}{{c{tag}}}:{what}:{_digest(app, country)}"
            self._bounded["c", app, country, what] = name
        return name

    def prefix(self, app: str, prefix: str, what: str) -> str:
        """One (app, number prefix): ``pv`` the distinct numbers sent to under it (a
        sorted set), ``b`` its block."""
        tag = _tag(self._pepper, "prefix", app, prefix)
        return f"{PREFIX}{{p{tag}}}:{what}:{short_digest(self._pepper, 'prefix', app, prefix)}"

    #: Every block in force, by id (for listing and lifting).
    BLOCKS = f"{PREFIX}blocks"

    # -- idempotency and API keys ------------------------------------------------------------

    @staticmethod
    def idempotency(app: str, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return f"{PREFIX}idem:{{{app}}}:{digest}"

    @staticmethod
    def api_key(digest: str) -> str:
        return f"{PREFIX}apikey:{digest}"

    API_KEY_INDEX = f"{PREFIX}apikeys"
    API_KEY_LAST_USED = f"{PREFIX}apikeys:used"
    #: Apps stored at run time (one hash tag: a change is one transaction on Cluster).
    APPS = f"{PREFIX}{{apps}}"
    APPS_VERSION = f"{PREFIX}{{apps}}:version"

    #: The safe and test numbers set at run time, by entry id (JSON: the number's digest,
    #: never the number; a test number's code sealed). In the apps' slot, so that a change,
    #: its audit and the version bump are one transaction.
    LISTED_NUMBERS = f"{PREFIX}{{apps}}:numbers"

    def listed_id(self, app: str, kind: str, number: str) -> str:
        """The id of ``app``'s ``kind`` entry for the number digest ``number``: keyed, so one
        number keeps its id in a list (adding it again replaces its entry)."""
        return "num_" + _tag(self._pepper, "listed", app, kind, number, length=ID_LENGTH)

    @staticmethod
    def nonce(key_id: str, nonce: str) -> str:
        return f"{PREFIX}nonce:{key_id}:{nonce}"

    @staticmethod
    def dashboard_session(session_id: str) -> str:
        """A dashboard session, named by a digest of its id: reading Redis gives nobody a
        cookie that works."""
        return f"{PREFIX}dash:{hashlib.sha256(session_id.encode()).hexdigest()[:32]}"

    @staticmethod
    def app_audit(app: str) -> str:
        return f"{PREFIX}{{apps}}:audit:{app}"

    # -- providers -----------------------------------------------------------------------

    @staticmethod
    def circuit(provider: str) -> str:
        """A provider's circuit breaker state (a hash)."""
        return f"{PREFIX}circuit:{{{provider}}}"

    @staticmethod
    def circuit_latency(provider: str) -> str:
        """A provider's recent latencies (a capped list), in the circuit's slot."""
        return f"{PREFIX}circuit:{{{provider}}}:latency"

    # -- delivery ------------------------------------------------------------------------

    #: The events stream, its retry set and its dead letters: one slot, for the scripts.
    EVENTS = f"{PREFIX}{{events}}:stream"
    EVENTS_RETRY = f"{PREFIX}{{events}}:retry"
    EVENTS_DEAD = f"{PREFIX}{{events}}:dead"

    @staticmethod
    def stats(app: str, kind: str, bucket: int) -> str:
        """One time bucket of ``app``'s counters (``kind`` ``m``: minutes, ``h``: hours)."""
        return f"{PREFIX}stats:{{{app}}}:{kind}:{bucket}"

    # -- dev -----------------------------------------------------------------------------

    #: Everything under this prefix is the dev outbox, which shows message bodies.
    DEV_PREFIX = f"{PREFIX}dev:"
    OUTBOX = f"{DEV_PREFIX}outbox"

    @staticmethod
    def outbox_to(e164: str) -> str:
        return f"{Keys.OUTBOX}:{hashlib.sha256(e164.encode()).hexdigest()[:24]}"
