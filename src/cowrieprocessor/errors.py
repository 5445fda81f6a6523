"""The failures a user can meet and fix, by name: each carries its message, its remedy and its exit code.

The library raises these instead of raw exceptions where the cause is known; the CLI turns them (and the
database driver's own errors) into one or two lines in one place, ``cli.failures``. Exit codes are part of
the interface, for scripts:

====  =============================================================================
0     success
1     the command ran and found a problem (data loss, drift, files it could not read)
2     bad usage: an argument, an option value, the configuration, input that is not there
3     the database: missing, unreachable, not writable, or not a database
4     the database is at another schema revision than this command needs
70    an internal error (a bug): one line, the traceback only with COWRIEPROCESSOR_DEBUG=1
130   interrupted (Ctrl-C)
====  =============================================================================
"""

from __future__ import annotations

EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3
EXIT_REVISION = 4
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class CowrieProcessorError(Exception):
    """A failure with a message for a person and, where one exists, what to do about it."""

    exit_code = EXIT_PROBLEM

    def __init__(self, message: str, remedy: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy


class UsageError(CowrieProcessorError):
    """An argument or option value the command cannot use."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError, ValueError):
    """The configuration file or a ``COWRIEPROCESSOR_*`` variable is wrong (typo, bad value); a ValueError too,
    as library callers of ``load_settings`` expect of a bad value."""


class InputNotFound(UsageError):
    """Input named on the command line is not there (or is not what it should be)."""


class NoBaseline(UsageError, LookupError):
    """``db verify`` has no baseline to compare with (the database was never upgraded from v15)."""


class DatabaseError(CowrieProcessorError):
    """The database cannot be used as it is."""

    exit_code = EXIT_DATABASE


class DatabaseMissing(DatabaseError):
    """No database at the place named; read-only commands never create one."""


class DatabaseUnreachable(DatabaseError):
    """The server does not answer, refuses the login, or the file cannot be opened."""


class SchemaRevisionError(DatabaseError):
    """The database is at another revision than the command needs (never changed implicitly)."""

    exit_code = EXIT_REVISION
