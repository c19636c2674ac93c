"""The dashboard's charts as PNG images for the e-mailed reports (issue 15), drawn on the server
with matplotlib from the same chart data as the page's ECharts (reporting.dashboard), so the
e-mail shows the same numbers. Labels are in the reader's language: the CJK font shipped with
the system (WenQuanYi Micro Hei, Noto Sans CJK) is used when one is installed."""

import io
from dataclasses import dataclass
from functools import cache

from django.utils.translation import gettext as _

CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "SimHei")
SIZE = (6.4, 3.2)  # inches at 100 dpi: 640 x 320 pixels, the width of an e-mail's body


@dataclass(frozen=True)
class Chart:
    cid: str  # the Content-ID the HTML names it by (cid:<cid>)
    title: str
    png: bytes


@cache
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    installed = {f.name for f in font_manager.fontManager.ttflist}
    fonts = [name for name in CJK_FONTS if name in installed]
    matplotlib.rcParams["font.sans-serif"] = [*fonts, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK fonts lack U+2212
    return plt


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    _pyplot().close(figure)
    return buffer.getvalue()


def _empty(ax) -> None:
    ax.text(0.5, 0.5, _("No figures for this period."), ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _trend(data: dict) -> bytes:
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=SIZE)
    days = data["days"]
    if not days:
        _empty(ax)
    else:
        x = range(len(days))
        ax.plot(x, [v if v is not None else float("nan") for v in data["current"]], label=data["labels"][0])
        previous = data["previous"]
        ax.plot(range(len(previous)), [v if v is not None else float("nan") for v in previous], linestyle="--",
                label=data["labels"][1])
        step = max(1, len(days) // 6)
        ax.set_xticks(list(x)[::step], [d[5:] for d in days][::step])
        ax.set_ylabel("%")
        ax.legend(loc="lower left", fontsize=8)
    return _png(figure)


def _bars(names: list[str], values: list, *, percent: bool) -> bytes:
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=SIZE)
    if not names:
        _empty(ax)
    else:
        heights = [v or 0 for v in values]
        bars = ax.bar(range(len(names)), heights)
        ax.bar_label(bars, labels=[("—" if v is None else f"{v:.1f}%" if percent else str(v)) for v in values],
                     fontsize=8)
        ax.set_xticks(range(len(names)), names, rotation=20 if len(names) > 4 else 0, fontsize=8)
        if percent:
            ax.set_ylabel("%")
    return _png(figure)


def _debits(data: dict) -> bytes:
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=SIZE)
    if not data["names"]:
        _empty(ax)
    else:
        x = range(len(data["names"]))
        ax.bar(x, data["paid"], label=data["labels"][0])
        ax.bar(x, data["failed"], bottom=data["paid"], label=data["labels"][1])
        ax.set_xticks(x, data["names"], rotation=20, fontsize=7)
        ax.legend(fontsize=8)
    return _png(figure)


def report_charts(chart_data: dict) -> list[Chart]:
    """The e-mail's charts from the dashboard's chart data (dashboard_figures()["chart_data"])."""
    funnel = chart_data["funnel"]
    return [
        Chart("chart-trend", _("Collection rate by due day, against the previous period"),
              _trend(chart_data["trend"])),
        Chart("chart-branches", _("Collection rate by branch"),
              _bars(chart_data["branches"]["names"], chart_data["branches"]["rates"], percent=True)),
        Chart("chart-funnel", _("From due to paid"),
              _bars([s["name"] for s in funnel], [s["value"] for s in funnel], percent=False)),
        Chart("chart-debits", _("Auto-debit lines by bank and reason"), _debits(chart_data["debits"])),
    ]
