"""Settings data of verifications that settings read: the default message texts.

A leaf: settings check with the locales here, without importing the service's modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DEFAULT_TEXTS"]

#: The SMS text per locale when ``[messages]`` does not replace it.
DEFAULT_TEXTS: Mapping[str, str] = {
    "en": "Your verification code is {code}. It expires in {minutes} minutes. "
    "Do not share it with anyone.",
    "zh-CN": "您的验证码为{code}，{minutes}分钟内有效，请勿泄露。",
}
