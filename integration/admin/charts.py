"""Server-rendered SVG charts for the trends page: stacked bars and lines over hourly buckets."""

from datetime import datetime

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 1160, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 10, 28
PALETTE = ["#2e7d32", "#1565c0", "#ef6c00", "#6a1b9a", "#c62828", "#00838f"]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _frame(hours: list[datetime], top: float, unit: str, title: str) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{escape(title)}"'
        ' xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        label = f"{top * fraction:g}{unit}"
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#666">{label}</text>')
    every = max(1, len(hours) // 12)
    for i, hour in enumerate(hours):
        if i % every == 0:
            x = LEFT + plot_w * (i + 0.5) / len(hours)
            hour = timezone.localtime(hour)  # the viewer's zone (the console's time rule)
            text = f"{hour:%H:%M}" if len(hours) <= 30 else f"{hour:%a %H:%M}"
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle" fill="#666">{text}</text>')
    return parts


def _stamps(hours: list[datetime]) -> list[str]:
    return [f"{timezone.localtime(hour):%a %H:%M %Z}" for hour in hours]


def _legend(names: list[str]) -> str:
    items = "".join(
        f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{escape(name)}</span>'
        for i, name in enumerate(names)
    )
    return f'<div class="legend">{items}</div>'


def stacked_bars(hours: list[datetime], series: dict[str, list[int]], title: str) -> SafeString:
    """One bar per hour, stacked by series (bottom first); each piece says its count on hover."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(hours))]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bar_w = plot_w / max(len(hours), 1)
    parts = _frame(hours, top, "", title)
    names = [escape(name) for name in series]  # once per chart: escape() is slow, 169 hours x 5 series
    for i, stamp in enumerate(_stamps(hours)):
        y = TOP + plot_h
        for n, values in enumerate(series.values()):
            if not values[i]:
                continue
            h = plot_h * values[i] / top
            y -= h
            parts.append(
                f'<rect class="bar" x="{LEFT + i * bar_w + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[n % len(PALETTE)]}" data-value="{values[i]}">'
                f"<title>{stamp}: {values[i]} {names[n]}</title></rect>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts) + _legend(list(series)))  # noqa: S308 (every text above is escaped)


def lines(hours: list[datetime], series: dict[str, list[float | None]], title: str, unit: str = "") -> SafeString:
    """One line per series; an hour without data is a gap."""
    values = [v for line in series.values() for v in line if v is not None]
    top = _nice_max(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(hours, top, unit, title)
    stamps = _stamps(hours)
    for n, (name, line) in enumerate(series.items()):
        color, label = PALETTE[n % len(PALETTE)], escape(name)
        points, runs = [], []
        for i, value in enumerate(line):
            if value is None:
                if points:
                    runs.append(points)
                points = []
                continue
            x = LEFT + plot_w * (i + 0.5) / len(hours)
            y = TOP + plot_h * (1 - value / top)
            points.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}">'
                f"<title>{stamps[i]}: {value:.1f}{unit} {label}</title></circle>"
            )
        runs.append(points)
        for run in runs:
            if len(run) > 1:
                dash = ' stroke-dasharray="6 3"' if n % 2 else ""  # a second line stays visible on the first
                parts.append(
                    f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash} points="{" ".join(run)}"/>'
                )
    if not values:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#999">no data</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts) + _legend(list(series)))  # noqa: S308 (every text above is escaped)
