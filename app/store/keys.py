"""Every Redis key name otpgate uses, built here and nowhere else.

Keys are grouped by Redis Cluster hash tag, so that each script touches one slot:

- ``{n<tag>}``: one (app, number): its verifications (records and per-purpose indexes),
  its per-number throttles and its opt-out mark. A number's *subject* (13 characters
  derived from the app and the number's digest: the 5-character tag, then 8 that tell
  numbers of one tag apart) begins every verification id, so the id alone names the slot
  and the number's throttles.
- ``{i<tag>}``: one client network's throttles; ``{a<tag>}``: one app's budget;
  ``{c<tag>}``: one (app, country): its budget, conversion counters and block;
  ``{p<tag>}``: one (app, number prefix): its distinct-number set and block.
- ``{events}``, ``{<provider>}`` (circuits), ``{<app>}`` (statistics, idempotency, the
  list of its opt-outs), ``{apps}`` (apps, their templates and audits).

No key contains a phone number, an email address, an IP address or a code: they appear
only as keyed digests. Names are short on purpose: a key's name is stored with it, and a stored
verification should cost well under a kilobyte.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from app.emails import email_digest
from app.ids import ALPHABET, ID_LENGTH, LAST_VALUES, is_verification_id, random_id
from app.phone import phone_digest
from app.store.factor_keys import FactorKeys
from app.store.key_parts import PREFIX, SUBJECT_LENGTH, TAG_LENGTH, _digest, _tag, short_digest

__all__ = ["PREFIX", "SUBJECT_LENGTH", "TAG_LENGTH", "Keys", "short_digest"]


class Keys(FactorKeys):
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

    def email(self, address: str) -> str:
        """The digest that stands for an email address, as :meth:`number` for a number."""
        return email_digest(self._pepper, address)

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
        """A new id in ``subject``'s slot; its last character carries 3 random bits, so
        that the id fits in 128 bits (:func:`app.ids.id_to_bits`)."""
        last = ALPHABET[secrets.randbelow(LAST_VALUES)]
        return "ver_" + subject + random_id("", ID_LENGTH - SUBJECT_LENGTH - 1) + last

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
    def opt_out(subject: str) -> str:
        """The mark of a number that opted out of the app (its subject's), in the number's
        slot: the send's first script reads it beside the index and the throttle."""
        return f"{PREFIX}{{n{subject[:TAG_LENGTH]}}}:o:{subject[TAG_LENGTH:]}"

    @staticmethod
    def fallback(verification_id: str) -> str:
        """A verification's fallback plan while a step may follow (the recipient sealed,
        the step and the message it waits on), in its number's slot."""
        tag, rest = verification_id[4 : 4 + TAG_LENGTH], verification_id[4 + TAG_LENGTH :]
        return f"{PREFIX}{{n{tag}}}:f:{rest}"

    #: The verifications whose next fallback step is due (score: when, ms); one slot,
    #: which every instance polls.
    FALLBACK_DUE = f"{PREFIX}{{fallback}}:due"

    @staticmethod
    def opt_outs(app: str) -> str:
        """The app's opt-outs by entry id (a hash), to list and clear them."""
        return f"{PREFIX}optout:{{{app}}}"

    def opt_out_id(self, app: str, number: str) -> str:
        """The id of ``app``'s opt-out of the number digest ``number``: keyed, so a number
        keeps its id (a second STOP finds its entry, a clear by number finds its id)."""
        return "opt_" + _tag(self._pepper, "optout", app, number, length=ID_LENGTH)

    @staticmethod
    def provider_message(provider: str, provider_message_id: str) -> str:
        """Points from a provider's message id to ``"<verification id> <message number>"``.

        No hash tag: these keys spread over the cluster, one lookup each.
        """
        return f"{PREFIX}x:{provider}:{provider_message_id}"

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

    #: Every app's message templates (a hash), under the apps' tag: a change is one
    #: script on Cluster, and bumps the apps' version, which every instance polls.
    TEMPLATES = f"{PREFIX}{{apps}}:templates"
    #: Held (SET NX PX) by the one instance that asks providers about reviews this round.
    TEMPLATES_POLL = f"{PREFIX}{{apps}}:templates:poll"

    @staticmethod
    def template_audit(app: str) -> str:
        return f"{PREFIX}{{apps}}:templates:audit:{app}"

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

    @staticmethod
    def attempts(app: str) -> str:
        """``app``'s newest sends, newest first (a capped list of ``"<verification id>
        <message number> <ms> <country>"``), in the slot of its statistics."""
        return f"{PREFIX}attempts:{{{app}}}"

    # -- dev -----------------------------------------------------------------------------

    #: Everything under this prefix is the dev outbox, which shows message bodies.
    DEV_PREFIX = f"{PREFIX}dev:"
    OUTBOX = f"{DEV_PREFIX}outbox"

    @staticmethod
    def outbox_to(e164: str) -> str:
        return f"{Keys.OUTBOX}:{hashlib.sha256(e164.encode()).hexdigest()[:24]}"
