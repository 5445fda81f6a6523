"""What ``query campaigns --by`` groups by, in a module of its own, light on purpose (standard library only,
outside ``analysis``): the command line offers these choices in ``--help`` without loading the queries or
SQLAlchemy (#21), and ``analysis.campaigns`` uses the same enum."""

from __future__ import annotations

import enum


class By(enum.StrEnum):
    """A kind of campaign key to list the busiest of (``analysis.campaigns.top_keys``)."""

    ssh_key = "ssh-key"
    password = "password"  # noqa: S105 - a kind of key, not a secret
    command = "command"
    hassh = "hassh"
    client = "client"
    download = "download"
