"""A Cloopen / Ronglian main account and app: the fields of ``[providers.<name>]`` with
``type = "cloopen"``."""

from __future__ import annotations

import msgspec

from app.providers.config import Template
from app.sensitive import Secret

__all__ = ["CloopenConfig"]


class CloopenConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="cloopen"
):
    """A Cloopen main account, the app that sends, and its approved templates."""

    #: the main account's ACCOUNT SID (32 hex characters); part of every URL.
    account_sid: str
    #: the main account's AUTH TOKEN: the secret in ``sig``, never sent itself.
    auth_token: Secret
    #: the APP ID of the app the templates belong to (``appId``).
    app_id: str
    #: locale -> approved template; its ``params`` fill ``{1}``, ``{2}``… in order.
    templates: dict[str, Template]
    #: the REST API's origin (sandbox: ``https://sandboxapp.cloopen.com:8883``).
    base_url: str = "https://app.cloopen.com:8883"
