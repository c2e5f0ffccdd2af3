"""Tables that fit the terminal without dropping or cutting a figure.

Every command's table goes through :func:`fit_table`: it is given every column the user asked for and
chooses a layout in which each cell is shown whole:

1. one table, when the columns fit side by side (text columns wrap between words, never inside one);
2. otherwise several tables, each repeating the key columns (the backend, the run id), with one line
   that says where the other columns went;
3. when even the key columns and one other do not fit, one vertical record per row.

A number or an identifier is one word, so no layout ever cuts it; columns that must not wrap at all
(run ids, install commands) are ``wraps=False`` and always get their full width.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from rich import box as rich_box
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class FitColumn:
    """One column: its header, alignment, and whether its cells may wrap between words."""

    header: str
    justify: str = "left"
    wraps: bool = False
    style: str | None = None


class Layout(Enum):
    ONE_TABLE = "one table"
    SPLIT = "several tables"
    RECORDS = "one record per row"


@dataclass(frozen=True)
class FittedTable:
    """The chosen layout, ready to print: the renderables, and the one line saying where columns went."""

    layout: Layout
    renderables: tuple[RenderableType, ...]
    note: str


def _plain_lines(cell: str) -> list[str]:
    return Text.from_markup(cell).plain.split("\n")


def _longest_word(cell: str) -> int:
    return max((cell_len(word) for line in _plain_lines(cell) for word in line.split()), default=0)


def _full_width(cell: str) -> int:
    return max((cell_len(line) for line in _plain_lines(cell)), default=0)


def _needed(column: FitColumn, cells: list[str]) -> tuple[int, int]:
    """(narrowest width that keeps every word whole, natural width) of one column's content."""
    header_min = _longest_word(column.header)
    full = max([_full_width(column.header)] + [_full_width(c) for c in cells])
    if not column.wraps:
        return max([header_min, 1] + [_full_width(c) for c in cells]), full
    return max([header_min, 1] + [_longest_word(c) for c in cells]), full


def _build(title, columns, rows, indexes, widths, table_options) -> Table:
    table = Table(title=title, **table_options)
    for i in indexes:
        column = columns[i]
        # Headers may wrap between words; a cell of a column that does not wrap is never wider than the
        # column (its width is the widest cell's), so it is never wrapped either.
        table.add_column(column.header, justify=column.justify, style=column.style, width=widths[i], overflow="fold")
    for row in rows:
        table.add_row(*(row[i] for i in indexes))
    return table


def _table_width(console: Console, table: Table) -> int:
    return Measurement.get(console, console.options.update(max_width=10_000), table).maximum


def _groups(console, columns, rows, keys, minimums, width, table_options) -> list[list[int]] | None:
    """Columns packed first-fit, in their order, into tables that each start with the key columns;
    None when even the keys and one more column are too wide."""
    def fits(indexes):
        return _table_width(console, _build(None, columns, rows[:1], indexes, minimums, table_options)) <= width

    groups: list[list[int]] = []
    for i in range(keys, len(columns)):
        for group in groups:
            if fits(group + [i]):
                group.append(i)
                break
        else:
            if not fits(list(range(keys)) + [i]):
                return None
            groups.append(list(range(keys)) + [i])
    return [sorted(group) for group in groups] or [list(range(keys))]


def _spread(console, columns, rows, indexes, minimums, naturals, width, table_options) -> dict[int, int]:
    """Widths for one table: every column at its minimum, the room left given where it unwraps most."""
    widths = dict(minimums)
    spare = width - _table_width(console, _build(None, columns, rows[:1], indexes, widths, table_options))
    # The columns closest to their natural width first (a header kept on one line, a cell unwrapped):
    # each one that reaches it is a cell less that wraps.
    for i in sorted(indexes, key=lambda i: naturals[i] - widths[i]):
        step = max(0, min(naturals[i] - widths[i], spare))
        widths[i] += step
        spare -= step
    return widths


def _records(title, columns, rows, keys, width) -> list[RenderableType]:
    """One block per row: the key cells in bold, then ``Header: value`` fields, as many to a line as fit.
    A value of a column that does not wrap goes on a line of its own when it does not fit beside its header."""
    blocks: list[RenderableType] = [Text(title, style="bold")] if title else []
    for row in rows:
        lines = [Text.from_markup(" · ".join(row[i].replace("\n", " ") for i in range(keys) if row[i]), style="bold")]
        current: Text | None = None
        for column, cell in zip(columns[keys:], row[keys:]):
            value = Text.from_markup(cell.replace("\n", " "))
            if not value.plain.strip():
                continue
            field = Text(f"{column.header}: ", style="dim")
            field.append_text(value)
            if current is not None and current.cell_len + 3 + field.cell_len <= width:
                current.append(" · ", style="dim")
                current.append_text(field)
                continue
            if current is not None:
                lines.append(current)
            current = Text("  ")
            if not column.wraps and 2 + field.cell_len > width:
                lines.append(Text(f"  {column.header}:", style="dim"))
                if 4 + value.cell_len > width:  # wider than the terminal: one line of its own, never broken
                    lines.append(Text.assemble(value, no_wrap=True, overflow="ignore"))
                    current = None
                    continue
                current = Text("    ")
                current.append_text(value)
            else:
                current.append_text(field)
        if current is not None:
            lines.append(current)
        blocks.extend(lines)  # line by line: print_fitted leaves a line wider than the terminal unbroken
    return blocks


def fit_table(
    console: Console,
    title: str | None,
    columns: list[FitColumn],
    rows: list[list[str]],
    *,
    keys: int = 1,
    **table_options,
) -> FittedTable:
    """Lay ``rows`` out for ``console.width``; ``keys`` leading columns are repeated in every part.
    A column empty in every row is left out, and the note names it."""
    width = console.width
    empty = [i for i in range(keys, len(columns)) if rows and not any(Text.from_markup(row[i]).plain.strip() for row in rows)]
    if empty:
        kept = [i for i in range(len(columns)) if i not in empty]
        fitted = fit_table(console, title, [columns[i] for i in kept], [[row[i] for i in kept] for row in rows], keys=keys, **table_options)
        left_out = f"{', '.join(columns[i].header for i in empty)}: empty in every row, left out."
        return FittedTable(fitted.layout, fitted.renderables, f"{left_out} {fitted.note}".strip())
    table_options.setdefault("box", rich_box.HEAVY_HEAD)
    minimums: dict[int, int] = {}
    naturals: dict[int, int] = {}
    for i, column in enumerate(columns):
        minimums[i], naturals[i] = _needed(column, [row[i] for row in rows])
    sample = rows or [[""] * len(columns)]
    groups = _groups(console, columns, sample, keys, minimums, width, table_options)
    if groups is None:
        note = f"The terminal ({width} columns) is too narrow for a table: one record per row."
        return FittedTable(Layout.RECORDS, tuple(_records(title, columns, rows, keys, width)), note)
    tables = []
    for n, indexes in enumerate(groups):
        widths = _spread(console, columns, sample, indexes, minimums, naturals, width, table_options)
        part = title if n == 0 or not title else f"{title} (continued)"
        tables.append(_build(part, columns, rows, indexes, widths, table_options))
    if len(groups) == 1:
        return FittedTable(Layout.ONE_TABLE, tuple(tables), "")
    key_names = ", ".join(columns[i].header for i in range(keys))
    moved = "; ".join(", ".join(columns[i].header for i in g[keys:]) for g in groups[1:])
    one_table = _table_width(console, _build(None, columns, sample, list(range(len(columns))), minimums, table_options))
    below = "the table below" if len(groups) == 2 else "the tables below"
    note = f"The terminal ({width} columns) is narrower than the table ({one_table}): {moved} in {below} ({key_names} repeated)."
    return FittedTable(Layout.SPLIT, tuple(tables), note)


def print_fitted(console: Console, fitted: FittedTable) -> None:
    """Print a fitted table, with its note (dim) before the parts it describes."""
    if fitted.note:
        console.print(f"[dim]{fitted.note}[/dim]", highlight=False)
    for renderable in fitted.renderables:
        unbroken = isinstance(renderable, Text) and bool(renderable.no_wrap)
        console.print(renderable, highlight=False, soft_wrap=unbroken)
