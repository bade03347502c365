"""Listing tables that stay readable in a narrow terminal: short columns never wrap, the last one does."""

from __future__ import annotations

from rich.table import Table


def listing(*columns: str) -> Table:
    table = Table()
    for i, name in enumerate(columns):
        last = i == len(columns) - 1
        table.add_column(name, no_wrap=not last, overflow="fold", ratio=1 if last else None)
    return table


def first_sentence(text: str) -> str:
    """Descriptions in lists: the first sentence; `show` gives the whole text."""
    head, dot, _ = text.partition(". ")
    return head + ("." if dot else "")
