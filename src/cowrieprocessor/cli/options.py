"""Options several commands share, defined once as typer ``Annotated`` aliases, with their parsers.

``--format`` and ``--columns`` are in :mod:`~cowrieprocessor.cli.output` (with the formats they choose).
Nothing heavy is imported here: ``--help`` builds every command's options.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cowrieprocessor.clock import parse_utc

if TYPE_CHECKING:
    from cowrieprocessor.analysis import CampaignKey

#: Largest --limit: more rows than a terminal or a pipeline wants in one answer.
MAX_LIMIT = 10_000_000
AsnOption = Annotated[
    int | None, typer.Option("--asn", min=0, max=4_294_967_295, help="ASN at the time of the attack.")
]
Since = Annotated[str | None, typer.Option("--since", help="Only from this time on (ISO-8601, UTC).")]
Until = Annotated[str | None, typer.Option("--until", help="Only before this time (ISO-8601, UTC).")]

# The campaign keys: ``query sessions|campaign|attribution|infrastructure|related`` take one of them.
SshKey = Annotated[str | None, typer.Option("--ssh-key", help="SSH key fingerprint (e.g. SHA256:...).")]
Password = Annotated[
    str | None,
    typer.Option("--password", help="Sessions that tried this password (plain text, hashed with SHA-256 to look up)."),
]
Username = Annotated[str | None, typer.Option("--username", help="Sessions that tried this username.")]
Credentials = Annotated[
    str | None,
    typer.Option("--credentials", help="Sessions that tried this credential list (its credential_list_hash)."),
]
PasswordHash = Annotated[str | None, typer.Option("--password-hash", help="SHA-256 hex of the password.")]
CommandSig = Annotated[str | None, typer.Option("--command-sig", help="Command signature of the session.")]
Download = Annotated[
    str | None, typer.Option("--download", help="Sessions that downloaded or uploaded this file (its SHA-256).")
]


def limit_option(what: str = "rows") -> Any:
    """``--limit`` (1 to :data:`MAX_LIMIT`), for ``Annotated[int, limit_option()]``."""
    return typer.Option("--limit", min=1, max=MAX_LIMIT, help=f"At most this many {what} (1 to {MAX_LIMIT:,}).")


def parse_time(value: str | None, name: str) -> dt.datetime | None:
    """ISO-8601 date or time; without a zone it is UTC (the analyst's times are UTC, like every stored one)."""
    if value is None:
        return None
    try:
        return parse_utc(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO-8601 date/time: {value!r}", param_hint=name) from exc
    except OverflowError as exc:
        raise typer.BadParameter(f"{value!r} is out of range in UTC (years 1 to 9999)", param_hint=name) from exc


def campaign_key(
    ssh_key: str | None,
    password: str | None,
    password_hash: str | None,
    sig: str | None,
    username: str | None = None,
    credentials: str | None = None,
    download: str | None = None,
) -> CampaignKey:
    """The one campaign key given (a usage error unless exactly one is)."""
    from cowrieprocessor.analysis import CampaignKey

    given = [
        (v, make)
        for v, make in (
            (ssh_key, CampaignKey.ssh_key),
            (password, CampaignKey.password),
            (password_hash, CampaignKey.password_hash),
            (sig, CampaignKey.command_sig),
            (username, CampaignKey.username),
            (credentials, CampaignKey.credentials),
            (download, CampaignKey.download),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise typer.BadParameter(
            "give exactly one of --ssh-key, --password, --password-hash, --command-sig, --username, --credentials,"
            " --download"
        )
    value, make = given[0]
    return make(value)


#: The campaign-key options, in the order ``--help`` shows them and :func:`campaign_key` takes them.
KEY_OPTIONS: dict[str, Any] = {
    "ssh_key": SshKey, "password": Password, "password_hash": PasswordHash, "command_sig": CommandSig,
    "username": Username, "credentials": Credentials, "download": Download,
}  # fmt: skip


def takes_campaign_key(command: Callable[..., None]) -> Callable[..., None]:
    """``command(ctx, key: CampaignKey, ...)`` as a typer command with the campaign-key options in place of
    ``key`` (exactly one must be given): the options are declared once, for every command that takes a key."""
    hints = typing.get_type_hints(command, localns={"CampaignKey": object}, include_extras=True)
    params = [p.replace(annotation=hints[p.name]) for p in inspect.signature(command).parameters.values()]
    at = [p.name for p in params].index("key")
    keys = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=alias)
        for name, alias in KEY_OPTIONS.items()
    ]

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        key = campaign_key(*(kwargs.pop(name) for name in KEY_OPTIONS))
        command(*args, key=key, **kwargs)

    shown = [*params[:at], *keys, *params[at + 1 :]]
    run.__signature__ = inspect.Signature(shown)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in shown}  # what typer reads, resolved
    return run
