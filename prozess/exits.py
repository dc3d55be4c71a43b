"""Exit codes and the one-line error every command ends with.

Exit codes, which other tools rely on, are the same for every command that
delivers a verdict (`check`, `run`, `replay`): 0 valid, 1 invalid, 2 bad input
or usage, 3 unknown. The commands of `prozess.cli` and those mounted into it
from their own modules (`prozess.replay`, `prozess.save`) all end through here,
so none of them imports the command line back.
"""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["EXIT_VALID", "EXIT_INVALID", "EXIT_BAD_INPUT", "EXIT_UNKNOWN", "exit_code_for", "fail", "printable"]

EXIT_VALID, EXIT_INVALID, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 1, 2, 3


def exit_code_for(valid: Any) -> int:
    """The exit code of a verdict: true 0, false 1, anything else (unknown) 3."""
    if valid is True:
        return EXIT_VALID
    if valid is False:
        return EXIT_INVALID
    return EXIT_UNKNOWN


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    """Prints one clear error line to stderr and exits with `code`."""
    typer.echo(f"prozess: error: {printable(message)}", err=True)
    raise typer.Exit(code)


# Control characters (C0 but tab and newline, DEL, C1) and bidi overrides, shown as escapes:
# text from a history must never drive the terminal that prints it.
_UNPRINTABLE = {c: f"\\x{c:02x}" for c in [*range(0, 9), *range(11, 32), *range(127, 160)]}
_UNPRINTABLE.update({c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]})


def printable(text: str) -> str:
    """`text` with terminal control and escape characters replaced by visible escapes."""
    return text.translate(_UNPRINTABLE)
