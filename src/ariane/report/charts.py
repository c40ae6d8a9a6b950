"""Small charts drawn as inline SVG in code: no plotting library, no script, no image file.

Inline SVG prints the same in a browser and in WeasyPrint's PDF, and keeps each report a
single self-contained file.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from ariane.display import printable

#: ENISA bands, from light to dark: readable in black-and-white print too.
BAND_COLOURS = {
    "low": "#9fc5a8",
    "medium": "#f2c14e",
    "high": "#e07a3f",
    "very_high": "#b3261e",
}
DEFAULT_COLOUR = "#3b6ea8"


def bar_chart(
    items: list[tuple[str, int]],
    *,
    title: str,
    colours: list[str] | None = None,
    width: int = 560,
    bar_height: int = 18,
    font_size: int = 11,
) -> Markup:
    """A horizontal bar chart of labelled counts, with each count printed at its bar's end."""
    gap = 6
    count_width = 70
    # Room for the longest label (an average glyph is about 0.6 em wide), within reason.
    longest = max((len(label) for label, _ in items), default=0)
    label_width = min(max(int(longest * font_size * 0.62) + 12, 60), width // 2)
    height = max(len(items), 1) * (bar_height + gap) + gap
    top = max((count for _, count in items), default=0)
    span = width - label_width - count_width
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-size="{font_size}" aria-label="{escape(printable(title))}">',
        f"<title>{escape(printable(title))}</title>",
    ]
    for index, (label, count) in enumerate(items):
        y = gap + index * (bar_height + gap)
        length = 0.0 if top == 0 else max(span * count / top, 1.0 if count else 0.0)
        colour = colours[index] if colours else DEFAULT_COLOUR
        middle = y + bar_height / 2
        parts.append(
            f'<text x="{label_width - 8}" y="{middle:.1f}" text-anchor="end" '
            f'dominant-baseline="middle" class="chart-label">{escape(printable(label))}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            f'fill="{colour}" rx="2"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{middle:.1f}" '
            f'dominant-baseline="middle" class="chart-value">{format_count(count)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def format_count(count: int) -> str:
    """A count in French typography: thin no-break space between thousands."""
    return f"{count:,}".replace(",", "\u202f")
