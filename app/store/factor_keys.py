"""The key names of TOTP factors (a part of :class:`app.store.keys.Keys`)."""

from __future__ import annotations

from app.ids import ID_LENGTH, is_verification_id, random_id
from app.store.key_parts import PREFIX, SUBJECT_LENGTH, TAG_LENGTH, _tag

__all__ = ["FactorKeys"]


class FactorKeys:
    """The keys of TOTP factors: a record per factor and, per subject (an app's user), the
    set of its factors and its consecutive wrong codes, all in the subject's slot."""

    _pepper: bytes

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
