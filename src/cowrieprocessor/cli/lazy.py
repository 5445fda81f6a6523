"""Top-level commands built on first use: a command imports and builds only its own part of the CLI.

Typer turns every registered command into a click command (reading the annotations of each parameter) before
it parses the command line, and the modules that define them must be imported first; for ``query top-asns``
that was a sixth of its start (#21). ``LazyCommands`` is the root group's command table: it knows every name
up front (for ``--help``, suggestions, completion) and builds a name's commands when one is asked for. A
group's own commands are built one by one the same way: ``query related`` converts one of eighteen commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping

import typer
from typer._click.core import Command
from typer.models import CommandInfo

#: Registers some top-level commands on the ``typer.Typer`` it is given (a module's ``register``).
Register = Callable[[typer.Typer], None]

#: Commands built so far in this process, per register function (each runs once: some mutate module state).
_BUILT: dict[Register, dict[str, Command]] = {}


def build(register: Register, inner: dict[str, dict[str, Register]] | None = None) -> dict[str, Command]:
    """The click commands ``register`` adds, built as the root group's own would be (plain help); a group
    named in ``inner`` gets those subcommands lazily too (after its own, as if registered after them)."""
    if register not in _BUILT:
        import typer.main

        holder = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False)
        register(holder)
        groups = {str(info.name): info.typer_instance for info in holder.registered_groups if info.typer_instance}
        own = {name: _one_by_one(group) for name, group in groups.items()}
        try:  # a group is built without its commands; each is built when asked for (one of a dozen runs)
            built = dict(typer.main.get_group(holder).commands)
        finally:
            for name, group in groups.items():
                group.registered_commands = [single.info for single in own[name].values()]
        for name in own.keys() | (inner or {}).keys():
            group_command = built.get(name)
            if group_command is not None and hasattr(group_command, "commands"):
                lazy: dict[str, Register] = {**own.get(name, {}), **(inner or {}).get(name, {})}
                group_command.commands = LazyCommands(group_command.commands, lazy)
        _BUILT[register] = built
    return _BUILT[register]


class _Single:
    """Registers one command of a group on its own (``build`` then converts just that one)."""

    def __init__(self, info: CommandInfo) -> None:
        self.info = info

    def __call__(self, holder: typer.Typer) -> None:
        holder.registered_commands.append(self.info)


def _one_by_one(group: typer.Typer) -> dict[str, _Single]:
    """The group's commands as registers of one command each; the group keeps none until ``build`` ends."""
    import typer.main

    singles = {}
    for info in group.registered_commands:
        callback = info.callback
        name = info.name or (typer.main.get_command_name(callback.__name__) if callback else "")
        singles[name] = _Single(info)
    group.registered_commands = []
    return singles


class LazyCommands(MutableMapping[str, Command]):
    """``eager`` commands (registered on the Typer app as usual) and the names ``lazy`` builds on access."""

    def __init__(
        self,
        eager: MutableMapping[str, Command],
        lazy: dict[str, Register],
        inner: dict[str, dict[str, Register]] | None = None,
    ) -> None:
        self._eager = eager
        self._lazy = {name: register for name, register in lazy.items() if name not in eager}
        self._inner = inner or {}

    def __getitem__(self, name: str) -> Command:
        if name in self._eager:
            return self._eager[name]
        register = self._lazy[name]  # KeyError: no such command
        return build(register, self._inner)[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._eager[name] = command
        self._lazy.pop(name, None)

    def __delitem__(self, name: str) -> None:
        if name in self._eager:
            del self._eager[name]
        else:
            del self._lazy[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._eager
        yield from self._lazy

    def __len__(self) -> int:
        return len(self._eager) + len(self._lazy)

    def __contains__(self, name: object) -> bool:
        return name in self._eager or name in self._lazy
