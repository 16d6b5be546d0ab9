"""A Chuanglan 253 API account: the fields of ``[providers.<name>]`` with
``type = "chuanglan"``."""

from __future__ import annotations

from typing import Literal

import msgspec

from app.sensitive import Secret

__all__ = ["ChuanglanConfig", "Product"]

#: Two products, each with its own accounts and hosts.
Product = Literal["domestic", "international"]


class ChuanglanConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="chuanglan"
):
    """A 253 API account of one product."""

    #: the API account (``N…`` domestic, ``I…`` international), not the console login.
    account: str
    #: the API password of that account; sent in every request body.
    password: Secret
    #: ``domestic`` (mainland China numbers) or ``international`` (any country code).
    product: Product = "domestic"
    #: prefixed as 【sign_name】 to a text that does not start with a 【…】 sign already;
    #: mainland carriers require one unless it is registered on the account.
    sign_name: str | None = None
    #: international only: the sender ID shown to the recipient, if registered.
    sender_id: str | None = None
    #: the API host shown in the 253 console for the account; None means the public host
    #: of the product (https://smssh1.253.com or https://intapi.253.com).
    base_url: str | None = None
