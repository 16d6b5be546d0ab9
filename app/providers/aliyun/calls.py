"""One signed call of Alibaba Cloud's Dysmsapi (RPC style, API version 2017-05-25).

Every action (``SendSms``, ``AddSmsTemplate``, ``QuerySmsTemplate``) is the same request
with another ``Action``: its business parameters in the query of ``POST /`` under a V3
``ACS3-HMAC-SHA256`` header, or in a V1 RPC form body signed with HMAC-SHA1
(:mod:`app.providers.aliyun.signing`).
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

import httpx

from app.providers.aliyun.signing import (
    EMPTY_BODY_SHA256,
    acs3_authorization,
    percent_encode,
    query_string,
    rpc_signature,
    rpc_string_to_sign,
)

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.aliyun.config import AliyunConfig

__all__ = ["VERSION", "acs3_request", "signed_call"]

VERSION = "2017-05-25"


def _timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _endpoint(config: AliyunConfig) -> str:
    return config.base_url.rstrip("/") + "/"


def acs3_request(
    action: str,
    version: str,
    params: dict[str, str],
    credentials: tuple[str, str],
    base_url: str,
    now: datetime,
    nonce: str,
) -> httpx.Request:
    """``POST {base_url}/?<params>`` signed with ACS3-HMAC-SHA256 by the AccessKey pair
    ``credentials``: any Alibaba Cloud RPC action (``SendSms``, ``SingleCallByTts``)."""
    url = base_url.rstrip("/") + "/"
    headers = {
        "host": httpx.URL(url).netloc.decode("ascii"),
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": _timestamp(now),
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": EMPTY_BODY_SHA256,
    }
    key_id, secret = credentials
    authorization = acs3_authorization(key_id, secret, "POST", params, headers, EMPTY_BODY_SHA256)
    # The query is sent exactly as signed, so no client-side re-encoding can differ.
    return httpx.Request(
        "POST",
        f"{url}?{query_string(params)}",
        headers={**headers, "authorization": authorization, "accept": "application/json"},
    )


def _rpc_request(
    action: str, params: dict[str, str], config: AliyunConfig, now: datetime, nonce: str
) -> httpx.Request:
    signed = {
        **params,
        "AccessKeyId": config.access_key_id,
        "Action": action,
        "Version": VERSION,
        "Format": "JSON",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce,
        "Timestamp": _timestamp(now),
    }
    signature = rpc_signature(config.access_key_secret, rpc_string_to_sign("POST", signed))
    body = f"{query_string(signed)}&Signature={percent_encode(signature)}"
    return httpx.Request(
        "POST",
        _endpoint(config),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "accept": "application/json",
        },
        content=body.encode("ascii"),
    )


def signed_call(
    action: str, params: dict[str, str], config: AliyunConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The request of ``action`` with its business ``params``, signed as the account's
    ``signature_version`` says."""
    if config.signature_version == "v1":
        return _rpc_request(action, params, config, now, nonce)
    credentials = (config.access_key_id, config.access_key_secret)
    return acs3_request(action, VERSION, params, credentials, config.base_url, now, nonce)
