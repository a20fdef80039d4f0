"""Contrast of what the app actually draws: colours read from the rendered screen.

:func:`screen_cells` resolves every cell of the current screen to its
character and its foreground and background colours (as drawn, after
styles, themes and transparency); :func:`contrast` is WCAG's ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App
from textual.geometry import Region


@dataclass(frozen=True)
class Cell:
    char: str
    fg: tuple[int, int, int]
    bg: tuple[int, int, int]

    @property
    def contrast(self) -> float:
        return contrast(self.fg, self.bg)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def screen_cells(app: App[object]) -> list[list[Cell]]:
    """Every cell of the screen as drawn, row by row."""
    rows = []
    for strip in app.screen._compositor.render_strips():
        row = []
        for segment in strip:
            style = segment.style
            if style is None or style.color is None or style.bgcolor is None:
                # Unstyled cells (a margin's spaces) hold nothing to read.
                row.extend(Cell(char, (0, 0, 0), (0, 0, 0)) for char in segment.text)
                continue
            fg, bg = tuple(style.color.get_truecolor()), tuple(style.bgcolor.get_truecolor())
            if style.reverse:
                fg, bg = bg, fg
            row.extend(Cell(char, fg, bg) for char in segment.text)  # type: ignore[arg-type]
        rows.append(row)
    return rows


def cells_in(grid: list[list[Cell]], region: Region) -> list[Cell]:
    return [
        grid[y][x]
        for y in range(region.y, min(region.bottom, len(grid)))
        for x in range(region.x, min(region.right, len(grid[y])))
    ]
