"""Replies read as keywords (``app.sms.keyword``), and the stop and start words of
``[abuse]`` checked at start."""

from __future__ import annotations

import pytest

from app.abuse.config import START_WORDS, STOP_WORDS, AbuseRules
from app.settings import ConfigError, load_settings
from app.sms import keyword


@pytest.mark.parametrize(
    ("reply", "word"),
    [
        ("STOP", "stop"),
        (" Stop! ", "stop"),
        ("stop.", "stop"),
        ("ＳＴＯＰ", "stop"),  # full width, as Chinese keyboards type it
        ("退订。", "退订"),
        ("\u3000退订\u3000", "退订"),  # ideographic spaces
        ("\u200bTD\u200b", "td"),  # zero-width spaces
        ("STOP   ALL", "stop all"),
        ("please stop", "please stop"),
        ("", ""),
        ("?!", ""),
    ],
)
def test_a_reply_is_compared_folded_and_trimmed(reply: str, word: str) -> None:
    assert keyword(reply) == word


def test_the_defaults_name_the_english_and_chinese_words() -> None:
    assert {"STOP", "UNSUBSCRIBE", "TD", "T", "退订", "N"} <= set(STOP_WORDS)
    assert {"START", "UNSTOP"} <= set(START_WORDS)
    rules = AbuseRules()
    assert (rules.stop_words, rules.start_words) == (STOP_WORDS, START_WORDS)


@pytest.mark.parametrize(
    ("abuse", "message"),
    [
        ({"stop_words": ["STOP"], "start_words": ["stop"]}, "both in stop_words and start_words"),
        ({"stop_words": ["Ｔ"], "start_words": ["t"]}, "both in"),
        ({"stop_words": ["..."]}, "no keyword"),
        ({"start_words": [""]}, "no keyword"),
        ({"stop_words": ["x" * 41]}, "no keyword"),
    ],
)
def test_words_that_cannot_work_stop_the_start(abuse: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({}, overrides={"abuse": abuse})


def test_an_app_overrides_the_words() -> None:
    settings = load_settings(
        {}, overrides={"apps": {"shop": {"abuse": {"stop_words": ["ARRET", "STOP"]}}}}
    )
    assert settings.apps["shop"].abuse == {"stop_words": ["ARRET", "STOP"]}
    with pytest.raises(ConfigError, match="both in"):
        load_settings({}, overrides={"apps": {"shop": {"abuse": {"start_words": ["td"]}}}})
