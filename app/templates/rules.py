"""What a template must be before it is saved: otpgate's own rules, then the documented
rules of each provider of the app's routes that reviews templates; and which providers
need one.

A provider needs a template when its account sends registered templates (its config has
``templates``: Alibaba, Tencent, Huawei, Cloopen) and it is in one of the app's routes.
Alibaba and Tencent register it through their template API and their reviewers decide;
the others take the id of a template you registered there yourself. Free-text providers
send the approved text as it is.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import msgspec

from app.providers.registry import adapter_for
from app.providers.review import VARIABLES, RuleContext, pieces
from app.settings import AppSettings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.providers.accounts import ProviderConfig
    from app.providers.review import ReviewApi
    from app.settings import Settings
    from app.templates.models import ProviderInput

__all__ = [
    "RuleProblem",
    "check_template",
    "otpgate_problems",
    "registered_providers",
    "review_api",
    "rule_context",
]

#: Control characters but the newline, which an SMS may hold.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


class RuleProblem(msgspec.Struct, frozen=True):
    """One rule a template breaks: the field (``text``, ``providers.<name>…``) and why."""

    key: str
    message: str


def registered_providers(settings: Settings, app: str) -> dict[str, ProviderConfig]:
    """The provider accounts of ``app``'s routes that send registered templates."""
    own = settings.apps.get(app, AppSettings())
    routes = {**settings.routes, **own.routes}
    names = dict.fromkeys(name for route in routes.values() for name in route)
    accounts = settings.providers
    return {n: accounts[n] for n in names if n in accounts and hasattr(accounts[n], "templates")}


def review_api(config: ProviderConfig) -> ReviewApi[Any] | None:
    """The account's template API, if its vendor has one."""
    return adapter_for(config).review


def rule_context(settings: Settings, app: str, sign_name: str | None) -> RuleContext:
    policy = settings.policy_for(app)
    minutes = max(1, math.ceil(policy.code_ttl / 60))
    return RuleContext(policy.code_length, minutes, policy.app_name, sign_name)


def otpgate_problems(text: str) -> list[str]:
    """otpgate's own rules: the text parses, holds ``{code}``, and no other variable than
    ``{code}``, ``{minutes}`` and ``{app_name}``."""
    if _CONTROL.search(text):
        return ["a control character (only the newline is allowed)"]
    try:
        names = {name for _, name in pieces(text) if name is not None}
    except ValueError as exc:
        return [f"{exc} (write a literal brace as {{{{ or }}}})"]
    problems = [f"{{{name}}} is not a variable" for name in sorted(names - set(VARIABLES))]
    if "code" not in names:
        problems.append("the text must hold {code}")
    return problems


def _provider_problems(
    name: str, config: ProviderConfig, given: ProviderInput | None, text: str, context: RuleContext
) -> list[RuleProblem]:
    api = review_api(config)
    kind = str(config.__struct_config__.tag)
    if given is not None and given.sign_name and "sign_name" not in config.__struct_fields__:
        return [RuleProblem(f"providers.{name}.sign_name", f"{kind} sends no sign name")]
    if api is None:
        if given is None or given.template_id is None:
            message = f"the id of the template you registered at {kind} ({name}) is required"
            return [RuleProblem(f"providers.{name}.template_id", message)]
        return []
    problems = []
    if given is not None and given.template_id is not None:
        message = f"{kind} registers the template through its API: leave template_id out"
        problems.append(RuleProblem(f"providers.{name}.template_id", message))
    problems += [RuleProblem("text", f"{name} ({kind}): {m}") for m in api.rules(text, context)]
    return problems


def check_template(
    text: str, given: Mapping[str, ProviderInput], settings: Settings, app: str
) -> list[RuleProblem]:
    """Every rule ``text`` (and the provider fields ``given``) breaks for ``app``."""
    own = otpgate_problems(text)
    if own:
        return [RuleProblem("text", message) for message in own]
    needed = registered_providers(settings, app)
    problems = [
        RuleProblem(f"providers.{name}", f"{name} is not a template provider of this app's routes")
        for name in sorted(set(given) - set(needed))
    ]
    for name, config in needed.items():
        sign_name = given[name].sign_name if name in given else None
        context = rule_context(settings, app, sign_name or getattr(config, "sign_name", None))
        problems += _provider_problems(name, config, given.get(name), text, context)
    return problems
