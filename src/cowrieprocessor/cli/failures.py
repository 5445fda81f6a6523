"""The one place where failures become messages: every expected error turns into one or two lines (what is
wrong, what to do) and an exit code from ``cowrieprocessor.errors``; nothing else prints a traceback.

``GuardedGroup`` is the click group class of the root command, so this applies to every command, including
ones added later, under the real entry point and under ``typer.testing.CliRunner`` alike.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from typing import Any

import typer
from typer._click.core import Context
from typer.core import TyperGroup

from cowrieprocessor.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    ConfigError,
    CowrieProcessorError,
    DatabaseError,
    DatabaseUnreachable,
    SchemaRevisionError,
)

DEBUG_ENV = "COWRIEPROCESSOR_DEBUG"


def translate(exc: BaseException) -> CowrieProcessorError | None:
    """The named error for ``exc``, or None when it is not an expected failure (a bug)."""
    if isinstance(exc, CowrieProcessorError):
        return exc
    module = type(exc).__module__
    if module.startswith("sqlalchemy"):
        return _database(exc)
    if module.startswith("pydantic"):
        return _config(exc)
    if isinstance(exc, OSError) and exc.errno is not None and exc.filename is not None:
        return CowrieProcessorError(f"{exc.strerror}: {exc.filename}")
    return None


_CONNECT = re.compile(r"connection (?:to server .*?)?failed|could not connect|Connection refused|timeout expired")


def _database(exc: BaseException) -> CowrieProcessorError | None:
    from sqlalchemy import exc as sa_exc

    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    text = str(exc.orig) if exc.orig is not None else str(exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    missing_db = re.search(r'database "([^"]+)" does not exist', text)
    if missing_db:
        return DatabaseUnreachable(
            f'PostgreSQL database "{missing_db.group(1)}" does not exist',
            f"create it (`createdb {missing_db.group(1)}`, or CREATE DATABASE as its owner) or fix --db",
        )
    if re.search(r"password authentication failed|role \"[^\"]+\" does not exist|no password supplied", text):
        return DatabaseUnreachable(f"PostgreSQL refused the login: {first}", "check the user and password in --db")
    if _CONNECT.search(text):
        return DatabaseUnreachable(
            f"cannot reach the database server: {first}",
            "is PostgreSQL running and listening at the host and port of --db?",
        )
    if "unable to open database file" in text:
        return DatabaseUnreachable(
            "cannot open the SQLite file (does its directory exist, and may this user write there?)",
            "give --db a path in an existing, writable directory",
        )
    if "file is not a database" in text or "file is encrypted" in text:
        return DatabaseError("the --db file is not an SQLite database", "give the path of a cowrieprocessor database")
    if re.search(r"no such table|no such column|UndefinedTable|UndefinedColumn|does not exist", text):
        return SchemaRevisionError(
            f"the database lacks what this command needs ({first})", "run `cowrieprocessor db upgrade`"
        )
    if "readonly database" in text or "read-only" in text:
        return DatabaseError(f"the database is read-only: {first}", "run as a user that may write it")
    if "database is locked" in text:
        return DatabaseError("the SQLite database stayed locked by another process", "retry when it has finished")
    if isinstance(exc, sa_exc.OperationalError):
        return DatabaseError(f"database error: {first}")
    return None


def _config(exc: BaseException) -> CowrieProcessorError | None:
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return None
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        what = "unknown key (a typo?)" if error["type"] == "extra_forbidden" else error["msg"]
        problems.append(f"{where}: {what}")
    more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return ConfigError(
        "invalid configuration: " + "; ".join(problems) + more,
        "fix the file given by --config / $COWRIEPROCESSOR_CONFIG, or the COWRIEPROCESSOR_* variable",
    )


def report(exc: BaseException) -> int:
    """Print ``exc`` for a person on stderr; the exit code."""
    from cowrieprocessor.cli.output import err_console, safe_text

    if isinstance(exc, KeyboardInterrupt):
        err_console.print("[yellow]interrupted[/yellow]")
        return EXIT_INTERRUPTED
    named = translate(exc)
    if named is None:
        if os.environ.get(DEBUG_ENV):
            traceback.print_exception(exc, file=sys.stderr)
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" at {os.path.basename(where.filename)}:{where.lineno}" if where else ""
        err_console.print(
            f"[red]internal error:[/red] {safe_text(type(exc).__name__)}: {safe_text(exc)}{at}", soft_wrap=True
        )
        err_console.print(f"This is a bug: please report it (set {DEBUG_ENV}=1 to see the traceback).", soft_wrap=True)
        return EXIT_INTERNAL
    # soft_wrap: the terminal wraps; a path or a command in the message stays whole for copying and grep
    err_console.print(f"[red]error:[/red] {safe_text(named.message)}", soft_wrap=True)
    if named.remedy:
        err_console.print(f"  -> {safe_text(named.remedy)}", soft_wrap=True)
    if os.environ.get(DEBUG_ENV) and named is not exc:
        traceback.print_exception(exc, file=sys.stderr)
    return named.exit_code


class GuardedGroup(TyperGroup):
    """The root group: runs the command and turns any failure into a message and an exit code."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):  # usage errors: typer reports them
            raise
        except (Exception, KeyboardInterrupt) as exc:
            raise typer.Exit(report(exc)) from None
