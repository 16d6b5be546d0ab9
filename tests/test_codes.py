"""Pure parts: codes, hashes, phone numbers, ids, texts."""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.errors import OtpgateError
from app.phone import mask_phone, normalize_phone, phone_digest
from app.settings import Argon2Settings, ConfigError, load_settings
from app.store.keys import Keys
from app.verify.codes import (
    HASHING_NICENESS,
    HASHING_THREAD_NAME,
    INLINE_HASH_WORK,
    CodeHasher,
    code_digest,
    generate_code,
)
from app.verify.texts import MessageTexts

PEPPER = b"p" * 32


@pytest.mark.parametrize("length", [4, 6, 10])
def test_codes_have_the_length_and_only_digits(length: int) -> None:
    codes = [generate_code(length) for _ in range(200)]
    assert all(len(code) == length and code.isdigit() for code in codes)


def test_codes_use_every_digit_in_every_position() -> None:
    codes = [generate_code(6) for _ in range(3000)]
    for position in range(6):
        counts = Counter(code[position] for code in codes)
        assert set(counts) == set("0123456789")
        assert min(counts.values()) > 200  # ~300 expected each; a stuck digit would fail


def test_digest_binds_code_to_verification_and_pepper() -> None:
    base = code_digest(PEPPER, "ver_a", "123456")
    assert base != code_digest(PEPPER, "ver_b", "123456")
    assert base != code_digest(PEPPER, "ver_a", "123457")
    assert base != code_digest(b"q" * 32, "ver_a", "123456")


def argon2id_of(encoded: str, digest: bytes, params: str) -> bool:
    """Whether ``encoded`` (base64 salt + output) is argon2id of ``digest`` at ``params``,
    computed here with argon2-cffi's own low-level call."""
    import base64

    from argon2.low_level import Type, hash_secret_raw

    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    time_cost, memory_cost, parallelism = map(int, params.split(","))
    salt, output = raw[:16], raw[16:]
    expected = hash_secret_raw(digest, salt, time_cost, memory_cost, parallelism, 32, Type.ID)
    return len(output) == 32 and output == expected


def test_hash_matches_only_its_code_and_verification() -> None:
    hasher = CodeHasher(PEPPER, Argon2Settings(time_cost=1, memory_cost=64), threads=1)
    try:
        hashes = [hasher.hash_sync("ver_a", "111111"), hasher.hash_sync("ver_a", "222222")]
        assert hasher.params == "1,64,1"
        assert len(hashes[0]) == 64  # fits a compact Redis hash field (48 bytes in base64)
        assert argon2id_of(hashes[0], code_digest(PEPPER, "ver_a", "111111"), "1,64,1")
        assert hashes[0] != hasher.hash_sync("ver_a", "111111")  # a fresh salt each time
        assert hasher.match_sync(hashes, "ver_a", "222222") == 1
        assert hasher.match_sync(hashes, "ver_a", "333333") is None
        assert hasher.match_sync(hashes, "ver_b", "111111") is None
        assert hasher.match_sync(["not-a-hash"], "ver_a", "111111") is None
        other_pepper = CodeHasher(b"q" * 32, Argon2Settings(time_cost=1, memory_cost=64), 1)
        assert other_pepper.match_sync(hashes, "ver_a", "111111") is None
        other_pepper.close()
    finally:
        hasher.close()


def test_hashes_keep_working_under_the_cost_they_were_made_with() -> None:
    old = CodeHasher(PEPPER, Argon2Settings(time_cost=1, memory_cost=64), threads=1)
    new = CodeHasher(PEPPER, Argon2Settings(time_cost=2, memory_cost=128), threads=1)
    try:
        stored = old.hash_sync("ver_a", "123456")
        assert new.match_sync([stored], "ver_a", "123456", old.params) == 0
        assert new.match_sync([stored], "ver_a", "123456") is None  # not at the new cost
    finally:
        old.close()
        new.close()


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are Linux's")
async def test_hashing_threads_are_nicer_than_the_event_loop() -> None:
    hasher = CodeHasher(b"p" * 32, Argon2Settings(time_cost=1, memory_cost=8))
    try:
        await hasher.hash("ver_x", "123456")
        loop_thread = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        niceness = hasher._pool.submit(
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        ).result()
        assert niceness == min(19, loop_thread + HASHING_NICENESS)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == loop_thread
        hashing_thread = hasher._pool.submit(threading.get_native_id).result()
        assert _thread_name(hashing_thread) == HASHING_THREAD_NAME  # for top -H, the bench
        assert _thread_name(threading.get_native_id()) != HASHING_THREAD_NAME
    finally:
        hasher.close()


class _Recording(CodeHasher):
    """A hasher that notes which thread each hash and match ran on."""

    def __init__(self, params: Argon2Settings) -> None:
        super().__init__(PEPPER, params, threads=1)
        self.threads: list[str] = []

    def hash_sync(self, verification_id: str, code: str) -> str:
        self.threads.append(threading.current_thread().name)
        return super().hash_sync(verification_id, code)

    def match_sync(self, hashes: Any, verification_id: str, code: str, params: Any = None) -> Any:
        self.threads.append(threading.current_thread().name)
        return super().match_sync(hashes, verification_id, code, params)


@pytest.mark.parametrize(
    ("time_cost", "memory_cost", "sends", "inline"),
    [
        (1, 8, 1, True),  # argon2's minimum: cheaper on the loop than handed over
        (2, 128, 1, True),  # INLINE_HASH_WORK exactly
        (1, 128, 2, True),
        (1, 128, 3, False),  # a check matches every hash sent: their work adds up
        (1, 264, 1, False),
        (2, 19456, 1, False),  # the default
    ],
)
async def test_only_hashes_cheaper_than_a_hand_over_run_on_the_event_loop(
    time_cost: int, memory_cost: int, sends: int, inline: bool
) -> None:
    hasher = _Recording(Argon2Settings(time_cost=time_cost, memory_cost=memory_cost))
    try:
        hashes = [await hasher.hash("ver_a", f"{n:06d}") for n in range(sends)]
        assert await hasher.match(hashes, "ver_a", f"{sends - 1:06d}") == sends - 1
        assert await hasher.match(hashes, "ver_a", "999999") is None
        loop = threading.current_thread().name
        on_loop = [name == loop for name in hasher.threads]
        assert on_loop[:sends] == [time_cost * memory_cost <= INLINE_HASH_WORK] * sends
        assert on_loop[sends:] == [inline, inline]
        assert all(on or name.startswith("argon2") for on, name in zip(on_loop, hasher.threads))
    finally:
        hasher.close()


async def test_a_match_at_older_costlier_parameters_takes_the_pool() -> None:
    """Hashes made before a change of settings are matched at the cost they were made
    with: dropping to the minimum cost does not put old, costly hashes on the loop."""
    old = CodeHasher(PEPPER, Argon2Settings(time_cost=2, memory_cost=19456), threads=1)
    new = _Recording(Argon2Settings(time_cost=1, memory_cost=8))
    try:
        stored = await old.hash("ver_a", "123456")
        assert await new.match([stored], "ver_a", "123456", old.params) == 0
        assert new.threads[0].startswith("argon2")
    finally:
        old.close()
        new.close()


def _thread_name(thread: int) -> str:
    return Path(f"/proc/self/task/{thread}/comm").read_text().strip()


def test_default_argon2_parameters_are_owasp_minimum() -> None:
    hasher = CodeHasher(PEPPER, Argon2Settings(), threads=1)
    try:
        assert hasher.params == "2,19456,1"
        stored = hasher.hash_sync("ver_a", "123456")
        assert argon2id_of(stored, code_digest(PEPPER, "ver_a", "123456"), "2,19456,1")
    finally:
        hasher.close()


@pytest.mark.parametrize(
    ("raw", "country", "e164", "region"),
    [
        ("+8613800138000", None, "+8613800138000", "CN"),
        ("+86 138-0013-8000", None, "+8613800138000", "CN"),
        ("13800138000", "CN", "+8613800138000", "CN"),
        ("13800138000", "cn", "+8613800138000", "CN"),
        ("(415) 555-2671", "US", "+14155552671", "US"),
        ("+44 7400 123456", None, "+447400123456", "GB"),
    ],
)
def test_numbers_are_normalised_to_e164(
    raw: str, country: str | None, e164: str, region: str
) -> None:
    phone = normalize_phone(raw, country)
    assert (phone.e164, phone.region) == (e164, region)


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("+86123", None),
        ("13800138000", None),
        ("abc", "CN"),
        ("+1 555 0100", None),
        ("13800138000", "XX"),
        ("+" + "1" * 40, None),
    ],
)
def test_invalid_numbers_are_invalid_phone(raw: str, country: str | None) -> None:
    with pytest.raises(OtpgateError) as caught:
        normalize_phone(raw, country)
    assert caught.value.code == "invalid_phone"


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+8613800138000", "+86138****8000"),
        ("+14155552671", "+1415***2671"),
        ("+33612345678", "+33612**5678"),
    ],
)
def test_masking_keeps_head_and_tail(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


def test_masking_keeps_the_calling_code_phonenumbers_finds_for_every_region() -> None:
    import phonenumbers

    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        example = phonenumbers.example_number_for_type(
            region, phonenumbers.PhoneNumberType.MOBILE
        ) or phonenumbers.example_number(region)
        if example is None:
            continue
        e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        code = f"+{example.country_code}"
        national = e164[len(code) :]
        head = min(3, max(0, len(national) - 6))
        tail = min(4, max(0, len(national) - head - 2))
        hidden = len(national) - head - tail
        expected = code + national[:head] + "*" * hidden + national[len(national) - tail :]
        assert mask_phone(e164) == expected, region
        checked += 1
    assert checked > 200


def test_a_number_is_accepted_exactly_when_phonenumbers_calls_it_valid() -> None:
    """normalize_phone asks for the number's type only; for every region's example of
    every type, and for each with a digit more and a digit less, its verdict and type
    are phonenumbers' is_valid_number and number_type."""
    import phonenumbers

    types = [v for k, v in vars(phonenumbers.PhoneNumberType).items() if k.isupper()]
    verdicts = Counter()
    regions = [*sorted(phonenumbers.SUPPORTED_REGIONS), "001"]
    for region in regions:
        examples = [phonenumbers.example_number_for_type(region, kind) for kind in types]
        if region == "001":
            codes = phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
            examples = [phonenumbers.example_number_for_non_geo_entity(code) for code in codes]
        for example in filter(None, examples):
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            for raw in (e164, e164 + "5", e164[:-1]):
                parsed = phonenumbers.parse(raw, None)
                valid = phonenumbers.is_valid_number(parsed)
                try:
                    phone = normalize_phone(raw)
                except OtpgateError:
                    phone = None
                assert (phone is not None) == valid, raw
                if phone is not None:
                    assert phone.region == phonenumbers.region_code_for_number(parsed), raw
                    kind = phonenumbers.number_type(parsed)
                    assert phone.number_type == phonenumbers.PhoneNumberType.to_string(kind).lower()
                verdicts[valid] += 1
    assert verdicts[True] > 1000 and verdicts[False] > 500, verdicts


def test_phone_digest_is_keyed() -> None:
    assert phone_digest(PEPPER, "+8613800138000") != phone_digest(b"q" * 32, "+8613800138000")
    assert "13800138000" not in phone_digest(PEPPER, "+8613800138000")
    assert len(phone_digest(PEPPER, "+8613800138000")) == 22  # 128 bits, base64url


def test_the_keys_of_one_number_share_one_hash_tag() -> None:
    keys = Keys(PEPPER)
    number = keys.number("+8613800138000")
    subject = keys.subject("default", number)
    verification_id = Keys.new_verification_id(subject)
    assert Keys.is_verification_id(verification_id) and len(verification_id) == 30
    assert Keys.subject_of(verification_id) == subject

    def tag(key: str) -> str:
        return key[key.index("{") : key.index("}") + 1]

    tags = {
        tag(Keys.index(subject, keys.lookup("default", number, "login"))),
        tag(Keys.index(subject, keys.lookup("default", number, "signup"))),
        tag(Keys.verification(verification_id)),
        tag(Keys.number_window(subject, "sn")),
        tag(Keys.number_window(subject, "wn")),
    }
    assert len(tags) == 1
    assert Keys.new_verification_id(subject) != verification_id
    assert keys.lookup("default", "x", "login") != keys.lookup("default", "x", "signup")
    assert keys.lookup("a", "x", "login") != keys.lookup("b", "x", "login")
    assert keys.subject("a", number) != keys.subject("b", number)
    other = keys.subject("default", keys.number("+8613800138001"))
    assert Keys.number_window(other, "sn") != Keys.number_window(subject, "sn")


def test_text_locale_resolution() -> None:
    texts = MessageTexts({"fr": "Code {code} ({minutes} min)"})
    assert texts.resolve(None, "CN") == "zh-CN"
    assert texts.resolve(None, "US") == "en"
    assert texts.resolve("zh", "US") == "zh-CN"
    assert texts.resolve("en-GB", "GB") == "en"
    assert texts.resolve("zh_cn", "CN") == "zh-CN"
    policy = load_settings({}).policy_for("default")
    assert policy.message(texts.text("fr"), "123456") == "Code 123456 (5 min)"
    assert (
        policy.message(texts.text("zh-CN"), "123456")
        == "您的验证码为123456，5分钟内有效，请勿泄露。"
    )
    # a locale without a text falls back to its language, then to English: never a 422
    assert texts.resolve("fr-CA", "CA") == "fr"
    assert texts.resolve("de-AT", "AT") == texts.resolve("xx-YY", "CN") == "en"


def test_app_name_in_texts_and_unknown_variables_refused() -> None:
    texts = MessageTexts({"en": "{app_name}: your code is {code}"})
    shop = load_settings({}, overrides={"apps": {"shop": {"display_name": "Shop"}}})
    assert (
        shop.policy_for("shop").message(texts.text("en"), "123456") == "Shop: your code is 123456"
    )
    with pytest.raises(ConfigError, match="code_ttl"):
        load_settings({}, overrides={"messages": {"en": "{code} for {code_ttl}"}})
