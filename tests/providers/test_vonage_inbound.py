"""Vonage inbound SMS webhooks: GET, form and JSON to inbound messages, signed with
``sig`` as delivery receipts are."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.providers.reports import CallbackError, InboundMessage
from app.providers.vonage.inbound import REPLY, parse
from app.providers.vonage.reports import verify
from app.providers.vonage.signing import signature
from tests.providers.test_vonage_reports import (
    SPEC_INBOUND,
    TRANSPORTS,
    Transport,
    config,
    get,
)

# A real inbound webhook as Vonage posted it (form fields), in Vonage's developer
# advocate's capture (gist leggetter/2ea764759efec4d74f27a9eae5ad9e5e); the numbers, which
# the capture hides, filled in.
CAPTURED = {
    "keyword": "HELLO!",
    "message-timestamp": "2016-08-14 10:13:54",
    "messageId": "030000000926C4C2",
    "msisdn": "447700900001",
    "text": "Hello!",
    "to": "447700900000",
    "type": "text",
}


@TRANSPORTS
def test_the_spec_example_is_one_inbound_message_in_each_format(transport: Transport) -> None:
    assert parse(transport(SPEC_INBOUND)) == [
        InboundMessage(
            sender="+447700900001",
            text="Hello world",
            provider_message_id="0A0000000123ABCD1",
            received_at=datetime(2020, 1, 1, 12, 0, tzinfo=UTC),
        )
    ]


def test_the_captured_webhook_is_read() -> None:
    [message] = parse(get(CAPTURED))
    assert (message.sender, message.text) == ("+447700900001", "Hello!")
    assert message.received_at == datetime(2016, 8, 14, 10, 13, 54, tzinfo=UTC)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"type": "binary", "data": "00", "udh": "050003"}, id="binary"),
        pytest.param(
            {"concat": "true", "concat-ref": "1", "concat-total": "2", "concat-part": "1"},
            id="part of a long message",
        ),
    ],
)
def test_binary_messages_and_parts_of_long_ones_are_no_replies(fields: dict[str, str]) -> None:
    assert parse(get(CAPTURED | fields)) == []


@pytest.mark.parametrize("missing", ["msisdn", "messageId", "text"])
def test_a_webhook_without_its_fields_is_a_callback_error(missing: str) -> None:
    with pytest.raises(CallbackError):
        parse(get({k: v for k, v in CAPTURED.items() if k != missing}))


def test_a_delivery_receipt_is_no_inbound_message() -> None:
    with pytest.raises(CallbackError):
        parse(get({"messageId": "0B00000127FDBC63", "status": "delivered", "err-code": "0"}))


def test_the_reply_is_the_receipts_204() -> None:
    assert REPLY.status_code == 204


@TRANSPORTS
def test_a_signed_inbound_message_verifies_as_a_receipt_does(transport: Transport) -> None:
    now = datetime.fromtimestamp(int(SPEC_INBOUND["timestamp"]), UTC)
    signed = SPEC_INBOUND | {"sig": signature(SPEC_INBOUND, "signature_secret", "sha256")}
    assert verify(transport(signed), config("sha256"), now)
    assert not verify(transport(signed | {"text": "STOP"}), config("sha256"), now)
    assert not verify(transport(signed), config("sha256", secret="other"), now)
