"""A django-phone-verify SMS backend that records each message in Redis.

The bench reads a sent code out of band, as it reads otpgate's from the dev outbox, so
the backend pushes ``{"to", "text"}`` as JSON onto ``peer:outbox:<number>``: one Redis
round trip per send on a connection pool shared by the worker's threads.
"""

from __future__ import annotations

import json
import threading
from typing import ClassVar

import redis
from phone_verify.backends.base import BaseBackend

KEY_PREFIX = "peer:outbox:"


class RecordingBackend(BaseBackend):
    # phone_verify builds a backend per call (twice per send), so the client lives on the
    # class, created on first use in each worker process (after gunicorn's fork).
    _client: ClassVar[redis.Redis | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.exception_class = redis.RedisError
        if RecordingBackend._client is None:
            with RecordingBackend._lock:
                if RecordingBackend._client is None:
                    RecordingBackend._client = redis.Redis.from_url(options["URL"])

    def send_sms(self, number: str, message: str) -> None:
        assert self._client is not None
        self._client.lpush(KEY_PREFIX + str(number), json.dumps({"to": number, "text": message}))

    def send_bulk_sms(self, numbers: list[str], message: str) -> None:
        for number in numbers:
            self.send_sms(number, message)
