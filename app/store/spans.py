"""The span of one Redis round trip, made of the commands' names alone.

A span names each command (``HINCRBY``; a script by its file's name, ``EVALSHA send``),
counts them, and says which server answered; never an argument or a key (keys hold
number digests and ids, arguments hold code hashes). Not opentelemetry-instrumentation-
redis: it wraps redis-py's own command and pipeline calls, which a batch on one server
does not make (its commands are packed by hiredis and written on a pooled connection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.tracing.spans import fail

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from opentelemetry.trace import Span

__all__ = ["cluster_nodes", "command_names", "round_trip", "server_of", "settle"]

_SCRIPT_CALLS = frozenset({"EVALSHA", "EVALSHA_RO", "FCALL", "FCALL_RO"})


def _name(command: Sequence[Any], scripts: Mapping[str, str]) -> str:
    name = str(command[0]).upper()
    if name in _SCRIPT_CALLS and len(command) > 1:
        # EVALSHA's second word is a SHA we know by its file; FCALL's is the function
        function = str(command[1]) if name.startswith("FCALL") else scripts.get(str(command[1]))
        return f"{name} {function}" if function else name
    return name


def command_names(commands: Sequence[Sequence[Any]], scripts: Mapping[str, str]) -> list[str]:
    """The name of each command: ``GET``, ``EVALSHA send`` (``scripts``: SHA -> name)."""
    return [_name(command, scripts) for command in commands]


def round_trip(names: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The span name and attributes of a round trip of the commands ``names``.

    One command is named by itself (``EVALSHA send``); more are a ``PIPELINE`` with the
    scripts among them (``PIPELINE send, circuit_allow``), a name of few values.
    """
    attributes: dict[str, Any] = {"db.system.name": "redis", "otpgate.redis.commands": names}
    if len(names) == 1:
        operation, _, script = names[0].partition(" ")
        attributes["db.operation.name"] = operation
        if script:
            attributes["db.stored_procedure.name"] = script
        return names[0], attributes
    attributes["db.operation.name"] = "PIPELINE"
    attributes["db.operation.batch.size"] = len(names)
    scripts = list(dict.fromkeys(n.partition(" ")[2] for n in names if " " in n))
    return " ".join(["PIPELINE", ", ".join(scripts)]).strip(), attributes


def server_of(connection: Any) -> dict[str, Any]:
    """``server.address`` and ``server.port`` of a redis-py connection (after it connected:
    a Sentinel-managed one learns its primary then), or its socket path."""
    if path := getattr(connection, "path", None):
        return {"server.address": str(path), "network.transport": "unix"}
    return {"server.address": str(connection.host), "server.port": int(connection.port)}


def _first_key(command: Sequence[Any]) -> Any:
    """The key a command is routed by: a script's first key, else the first argument."""
    if str(command[0]).upper() in _SCRIPT_CALLS:
        return command[3] if len(command) > 3 and int(command[2]) > 0 else None
    return command[1] if len(command) > 1 else None


def cluster_nodes(
    client: Any, commands: Sequence[Sequence[Any]], known: set[str]
) -> dict[str, Any]:
    """The Cluster nodes (``host:port``) a batch's parts go to, as redis-py routes them
    (by each command's first key), besides the ``known`` ones; with one node, its
    ``server.address`` and ``server.port``."""
    names = set(known)
    for command in commands:
        key = _first_key(command)
        node = None if key is None else client.get_node_from_key(key)
        if node is not None:
            names.add(node.name)
    attributes: dict[str, Any] = {"otpgate.redis.nodes": sorted(names)}
    if len(names) == 1:
        host, _, port = next(iter(names)).rpartition(":")
        attributes.update({"server.address": host, "server.port": int(port)})
    return attributes


def settle(span: Span, results: Sequence[Any]) -> None:
    """Mark the span failed when a command's reply was an error (by its type: NOSCRIPT,
    WRONGTYPE, a script's error), counting them."""
    errors = [result for result in results if isinstance(result, Exception)]
    if errors:
        span.set_attribute("otpgate.redis.error_replies", len(errors))
        fail(span, type(errors[0]).__name__)
