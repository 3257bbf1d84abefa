"""Where commands print: standard output drawn for a person at a terminal, and kept to whole
lines and tab-separated tables when it is piped to grep, cut, sort or a file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderHook
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from mailbot.text import one_line


@dataclass(frozen=True)
class TabSeparated:
    """A table as lines of tab-separated cells, the column names first: no title, no
    borders, nothing wrapped or cut, whatever the width of the console."""

    lines: tuple[str, ...]

    @classmethod
    def of(cls, table: Table) -> TabSeparated:
        columns = [[column.header, *column.cells] for column in table.columns]
        rows = zip(*columns, strict=True)
        return cls(tuple("\t".join(_cell(cell) for cell in row) for row in rows))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        for line in self.lines:
            yield Segment(line)
            yield Segment.line()


def _cell(value: object) -> str:
    # A tab or a line break inside a cell would split it, so each cell becomes one line.
    return one_line(value.plain if isinstance(value, Text) else str(value))


class _TablesAsLines(RenderHook):
    """Prints each table as `TabSeparated`; everything else as it is."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [TabSeparated.of(r) if isinstance(r, Table) else r for r in renderables]


def stdout_console() -> Console:
    """The console for a command's output. Piped, a line is never wrapped at 80 columns
    (an address cut in two is lost to grep) and a table comes out as tab-separated lines,
    as `cut -f` and `sort -t` expect; `--format csv` or `json` is there for programs."""
    console = Console()
    if not console.is_terminal:
        console.soft_wrap = True
        console.push_render_hook(_TablesAsLines())
    return console
