"""What every command shares: the two consoles, the --config option, loading the settings,
checking an --event against them, and the contract's exit codes for mailbot's errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from mailbot.cli.console import stdout_console
from mailbot.errors import BadArgumentError, ConfigError, MailbotError, OperationalError

if TYPE_CHECKING:
    from mailbot.config import Settings

EXIT_OPERATIONAL = 1
EXIT_USAGE = 2

out = stdout_console()
err = Console(stderr=True, soft_wrap=True)  # an error is one line, whatever the width

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Configuration file (default: $MAILBOT_CONFIG, else ./config.toml).",
        show_default=False,
    ),
]

Ref = Annotated[str, typer.Argument(help="Booking reference, e.g. K7Q-4MZ.")]


@contextmanager
def exit_codes() -> Iterator[None]:
    """Turn mailbot's errors into a one-line message and the contract's exit status."""
    try:
        yield
    except (ConfigError, BadArgumentError) as exc:
        # Both are bad usage; only a ConfigError names the file, as only it is the file's fault.
        err.print(f"mailbot: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    except OperationalError as exc:
        err.print(f"mailbot: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_OPERATIONAL) from None
    except MailbotError as exc:
        err.print(f"mailbot: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_OPERATIONAL) from None


def load(config: Path | None) -> Settings:
    """The validated settings from --config, $MAILBOT_CONFIG or ./config.toml."""
    from mailbot.cli.ownership import refuse_root_in_others_folders
    from mailbot.config import config_path, load_settings

    settings = load_settings(config_path(config))
    # Root's files in the service user's data folder would lock the service out of them.
    refused = refuse_root_in_others_folders(settings)
    if refused is not None:
        err.print(f"mailbot: {refused}", markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE)
    return settings


def known_event(settings: Settings, slug: str, option: str = "--event") -> str:
    """`slug` if the configuration has an event by that name; else bad usage, naming them."""
    slugs = [event.slug for event in settings.events]
    if slug not in slugs:
        raise BadArgumentError(f"no event {slug!r}; configured: {', '.join(slugs)}", option)
    return slug
