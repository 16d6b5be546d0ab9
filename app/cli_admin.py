"""``otpgate keys`` and ``otpgate apps``: API keys and run-time apps, straight in Redis.

They talk to the Redis the settings name (any notation, Cluster and Sentinel too; the
embedded one when none is set) and validate apps against the same settings the service
reads, so a change the service would refuse is refused here too (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from app.apps.registry import Action
    from app.settings import Settings

__all__ = ["ADMIN_COMMANDS", "add_admin_commands"]

#: Who the audit names for a change made here.
CLI = "cli"
_ACTIONS: dict[str, Action] = {
    "create": "create", "update": "update", "disable": "disable", "enable": "enable",
}  # fmt: skip


async def _keys(args: argparse.Namespace, settings: Settings, url: str) -> int:
    from app.apps.keys import ApiKeyStore
    from app.store.redis import connect

    client = connect(url, timeout=settings.redis_timeout)
    store = ApiKeyStore(client)
    try:
        if args.keys_command == "create":
            key, record = await store.create(args.app, args.scopes, args.name)
            print(
                f"{key}\n(id {record.id}, app {record.app}, scopes {','.join(record.scopes)}; "
                "shown once, store it now)"
            )
        elif args.keys_command == "list":
            for record in await store.list():
                print(
                    f"{record.id}  app={record.app}  scopes={','.join(record.scopes)}  "
                    f"name={record.name!r}"
                )
        elif not await store.revoke(args.id):
            print(f"no API key with id {args.id}", file=sys.stderr)
            return 1
        else:
            print(f"revoked {args.id}")
    finally:
        await client.aclose()
    return 0


async def _apps(args: argparse.Namespace, settings: Settings, url: str) -> int:
    from app.apps.registry import AppRegistry
    from app.store.redis import connect

    client = connect(url, timeout=settings.redis_timeout)
    apps = AppRegistry(client, settings)
    try:
        await apps.refresh()
        command = args.apps_command
        if command == "list":
            for app in sorted({"default", *apps.settings.apps, *apps.records}):
                print(app + (" (disabled)" if apps.disabled(app) else ""))
            return 0
        name: str = args.name
        if command != "create" and not apps.known(name):
            print(f"no app named {name}", file=sys.stderr)
            return 1
        if command == "create" and (apps.known(name) or name in apps.records):
            print(f"an app named {name} exists already", file=sys.stderr)
            return 1
        if command != "show":
            changes = dict(getattr(args, "set", None) or [])
            disabled = {"disable": True, "enable": False}.get(command)
            await apps.change(name, changes, CLI, _ACTIONS[command], disabled=disabled)
        shown = {"name": name, "disabled": apps.disabled(name), "settings": apps.shown(name)}
        print(json.dumps(shown))
    finally:
        await client.aclose()
    return 0


def _field(value: str) -> tuple[str, Any]:
    """``--set name=value``: the value read as JSON when it is JSON, else as a string."""
    name, sep, raw = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{value!r} is not name=value")
    try:
        return name, json.loads(raw)
    except ValueError:
        return name, raw


def _scopes(value: str) -> list[str]:
    """``--scopes``: comma-separated names from :data:`SCOPES` (argparse's ``type``)."""
    from app.apps.keys import SCOPES

    scopes = [scope.strip() for scope in value.split(",") if scope.strip()]
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise argparse.ArgumentTypeError(
            f"unknown scope {', '.join(unknown) or '(none)'}; known: {', '.join(SCOPES)}"
        )
    return scopes


def add_admin_commands(commands: Any) -> None:
    """``keys`` and ``apps`` on the ``otpgate`` parser's subcommands."""
    keys = commands.add_parser("keys", help="manage API keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_commands.add_parser("create", help="create a key (printed once)")
    create.add_argument("--app", default="default")
    create.add_argument(
        "--scopes", type=_scopes, default=["verify"],
        help="comma-separated: verify,read,admin,operator",
    )  # fmt: skip
    create.add_argument("--name", default="")
    keys_commands.add_parser("list", help="list keys (never the keys themselves)")
    revoke = keys_commands.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id")

    apps = commands.add_parser("apps", help="manage apps at run time")
    apps_commands = apps.add_subparsers(dest="apps_command", required=True)
    apps_commands.add_parser("list", help="every app (the file's and the stored ones)")
    for command, text in [
        ("create", "create an app"),
        ("show", "an app's settings in force (secrets masked)"),
        ("update", "change an app's settings"),
        ("disable", "disable an app (its keys get 403; nothing is deleted)"),
        ("enable", "enable a disabled app"),
    ]:
        sub = apps_commands.add_parser(command, help=text)
        sub.add_argument("name")
        if command in {"create", "update"}:
            sub.add_argument(
                "--set", type=_field, action="append", metavar="FIELD=VALUE",
                help="a per-app setting (JSON value, e.g. code_length=8); null: the file's",
            )  # fmt: skip


ADMIN_COMMANDS: dict[
    str, Callable[[argparse.Namespace, Settings, str], Coroutine[Any, Any, int]]
] = {
    "keys": _keys,
    "apps": _apps,
}
