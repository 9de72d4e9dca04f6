"""User text is shown, never rendered: on the app's pages, in Plotly figures, in the review pack's
index.html and summary.md. And it is escaped once, for the surface it is on (issue #13:
`product\\_view` in a code span)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from dashboard import escape, figures
from dashboard.pack.build import plan_pack, write_pack
from metrics.engine import Engine
from metrics.load import load_project
from tests.app_support import APP
from tests.engine_fixtures import Row
from tests.sql_fixtures import write_parquet

IMAGE = "![pixel](https://tracker.example/p.png)"
LINK = '<a href="https://evil.example">click</a>'
HOSTILE = [
    IMAGE,
    LINK,
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "[docs](javascript:alert(1))",
    "**bold** _em_ ~~gone~~ `code` $x^2$",
    "# Heading\n1. list\n- item\n> quote",
    "see https://evil.example or www.evil.example",
    ":red[alarm] :material/warning:",
    "a | b & c; 50% of <b>$5</b>",
]
RENDER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
MARKUP = re.compile(r"<(a|img|script|em|strong|s|del|code|h\d|ol|ul|li|blockquote|b)\b", re.IGNORECASE)


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_escape_renders_as_the_same_text(text: str) -> None:
    rendered = RENDER.render(escape.markdown(text))
    assert not MARKUP.search(rendered), rendered
    # What a reader sees is the text itself (Markdown turns line breaks into spaces only).
    shown = re.sub(r"<[^>]+>", "", rendered)
    import html

    assert " ".join(html.unescape(shown).split()) == " ".join(text.split())


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_html_and_code_spans_render_as_the_same_text(text: str) -> None:
    import html

    as_html = RENDER.render(escape.markdown_html(text))  # HTML allowed: it must arrive escaped
    assert not MARKUP.search(as_html), as_html
    code = RENDER.render(escape.markdown_code(text))
    inner = re.fullmatch(r"<p><code>(.*)</code></p>\n", code, re.DOTALL)
    assert inner is not None and html.unescape(inner[1]) == " ".join(text.split())


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_cell_renders_as_the_same_text(text: str) -> None:
    """summary.md's escape: inert where GitHub renders it, as the text itself."""
    import html

    rendered = RENDER.render(escape.markdown_cell(text))
    assert not MARKUP.search(rendered), rendered
    assert html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip() == " ".join(text.split())


def test_markdown_cell_escapes_no_colon_or_dollar_of_plain_text() -> None:
    """summary.md is pasted into a Slack code block and an email, where every escape shows: `:` and
    `$` are escaped only as a link's scheme, an emoji or a math span."""
    plain = "Revenue: $101k (Apr 1 – May 15) vs $151k: -$50,110; R&D costs $5 and $6"
    assert escape.markdown_cell(plain) == plain
    assert escape.markdown_cell("$x^2$ :tada: https://a.example &amp;") == (
        "\\$x^2$ \\:tada: https\\://a.example \\&amp;"
    )


def test_product_view_is_not_shown_with_a_backslash() -> None:
    """#13: a code span shows its text as it is, so it takes no Markdown escape."""
    assert escape.markdown_code("product_view") == "`product_view`"
    assert RENDER.render(escape.markdown("product_view")) == "<p>product_view</p>\n"


# --- Plotly ---------------------------------------------------------------------------------------


def _texts(fig: Any) -> list[str]:
    """Every string Plotly would lay out as text: title, trace names, tick labels, annotations."""
    spec = json.loads(fig.to_json())
    found = [spec["layout"].get("title", {}).get("text") or ""]
    found += [a.get("text", "") for a in spec["layout"].get("annotations", [])]
    for trace in spec["data"]:
        found.append(trace.get("name") or "")
        found += [str(x) for x in trace.get("x") or [] if isinstance(x, str)]
        found.append(trace.get("hovertemplate") or "")
    return found


def test_plotly_figures_show_user_text_literally() -> None:
    frame = pl.DataFrame(
        {
            "period": [dt.date(2026, 3, 1), dt.date(2026, 3, 1)],
            "platform": [LINK, "<b>web</b>"],
            "value": [3.0, 4.0],
        }
    )
    charts = [
        figures.metric_timeseries(
            frame,
            label=LINK,
            unit="count",
            start=dt.date(2026, 3, 1),
            end=dt.date(2026, 3, 1),
            grain="day",
            by="platform",
        ),
        figures.metric_timeseries(
            frame.drop("platform").head(1),
            label="<i>Sign-ups</i>",
            unit="count",
            start=dt.date(2026, 3, 1),
            end=dt.date(2026, 3, 1),
            grain="day",
        ),
        figures.funnel_bars(
            pl.DataFrame({"step": [1, 2], "step_label": ["<a href='x'>signup</a>", "buy"], "users": [10, 4]}),
            title=LINK,
            start=dt.date(2026, 3, 1),
            end=dt.date(2026, 3, 2),
        ),
        figures.retention_curves(
            pl.DataFrame({"series": ["<b>%{y}</b>"], "offset": [1], "value": [0.5]}),
            title="<br>x",
            start=dt.date(2026, 3, 1),
            end=dt.date(2026, 3, 2),
            period="day",
        ),
    ]
    for fig in charts:
        texts = "\n".join(_texts(fig))
        assert "<a " not in texts and "<i>" not in texts and "<b>web" not in texts and "<b>%{y}" not in texts
        assert "&lt;a href=" in texts or "&lt;i&gt;" in texts or "&lt;b&gt;" in texts
        assert "%{y}</b>" not in texts  # a user's %{...} is not filled in by the hover template


# --- the app --------------------------------------------------------------------------------------


@pytest.fixture
def hostile_project(tmp_path: Path) -> Path:
    rows = [
        Row(
            dt.datetime(2026, 3, 1, 9) + dt.timedelta(hours=i),
            f"u{i % 5}",
            "product_view" if i % 2 else "signup",
            "<b>web</b>",
        )
        for i in range(60)
    ]
    write_parquet(rows, tmp_path / "events.parquet")
    source = {
        "type": "parquet",
        "path": "events.parquet",
        "columns": {"timestamp": "ts", "user": "user_id", "event": "event"},
        "dimensions": ["platform"],
    }
    metrics = {
        "views": {
            "type": "count",
            "source": "events",
            "label": LINK,
            "description": IMAGE + " <img src=https://tracker.example/q.png>",
            "owner": "[me](javascript:alert(1))",
            "filter": {"event": ["product_view", IMAGE]},
        },
        "activation": {
            "type": "funnel",
            "source": "events",
            "steps": ["product_view", "signup"],
            "within": 7,
        },
    }
    okrs = [
        {
            "id": "o1",
            "objective": IMAGE + " **win**",
            "owner": "<b>boss</b>",
            "period": {"start": "2026-03-01", "end": "2026-03-31"},
            "key_results": [{"id": "k1", "metric": "views", "read": "period_to_date", "target": 100}],
        }
    ]
    (tmp_path / "sources.yaml").write_text(json.dumps({"sources": {"events": source}}))
    (tmp_path / "metrics.yaml").write_text(json.dumps({"metrics": metrics}))
    (tmp_path / "okrs.yaml").write_text(json.dumps({"okrs": okrs}))
    return tmp_path


def _markdown_shown(at: AppTest) -> list[str]:
    elements = [*at.markdown, *at.caption, *at.title, *at.subheader, *at.error, *at.warning, *at.info]
    return [str(e.value) for e in elements] + [f"{m.label} {m.help or ''}" for m in at.metric]


@pytest.mark.parametrize(
    ("page", "metric"), [("definitions", "views"), ("okrs", None), ("funnels", None), ("explorer", "views")]
)
def test_pages_show_user_text_and_render_none_of_it(
    hostile_project: Path, monkeypatch: pytest.MonkeyPatch, page: str, metric: str | None
) -> None:
    monkeypatch.setenv("NORTHSTAR_CONFIG", str(hostile_project))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["as_of"] = "2026-03-03"
    if metric:
        at.query_params["metric"] = metric
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    for text in _markdown_shown(at):
        # Streamlit renders Markdown (and HTML where a page allows it): render it the same way.
        rendered = RENDER.render(text)
        for bad in ("<img", '<a href="https://evil', '<a href="javascript', 'tracker.example/p.png"'):
            assert bad not in rendered, (page, text)
        assert not any("\\_" in span for span in re.findall(r"`[^`]*`", text)), text  # #13
    for fig in at.get("plotly_chart"):
        spec = json.loads(fig.proto.spec)
        texts = [spec["layout"].get("title", {}).get("text") or ""] + [
            t.get("name") or "" for t in spec["data"]
        ]
        assert not any("<a " in t or "<b>web" in t for t in texts), texts


# --- the review pack ------------------------------------------------------------------------------


def test_the_pack_shows_user_text_literally(hostile_project: Path, tmp_path: Path) -> None:
    project = load_project(hostile_project)
    assert project.ok, project.problems
    as_of = dt.date(2026, 3, 3)
    plan = plan_pack(project, Engine(project, today=lambda: as_of), as_of=as_of, base_url="https://n.example")
    plan = type(plan)(
        stamp=plan.stamp, scorecard=plan.scorecard, items=(), timings=plan.timings
    )  # no browser
    write_pack(plan, project, tmp_path / "pack")
    summary = (tmp_path / "pack" / "summary.md").read_text()
    rendered = RENDER.render(summary)
    assert "<img" not in rendered and "tracker.example" in rendered  # shown, not loaded
    assert "<strong>win</strong>" not in rendered and "**win**" in re.sub(r"<[^>]+>", "", rendered).replace(
        "\\", ""
    )
    page = (tmp_path / "pack" / "index.html").read_text()
    assert "<img" not in page and "&lt;b&gt;boss&lt;/b&gt;" in page and "<b>boss</b>" not in page
    assert "![pixel](https://tracker.example/p.png) **win**" in __import__("html").unescape(page)


CHECK_WORDS = (
    "events: volume (warning): 1 of the last 28 complete days is far from their trailing 28-day norm "
    "(|z| > 6): 1997-07-26 (213 rows, expected about 76, z +8.7)"
)


def test_a_line_of_summary_md_keeps_a_check_s_words() -> None:
    """Tour 3 (CDNOW): summary.md's list of failed checks read '(\\|z\\| \\> 6)' in a Slack paste.
    Outside a table `|` is no markup, and `>` is markup only at the start of a line (a quote), so a
    line of the document keeps both as they are; a table cell still escapes `|`."""
    assert escape.markdown_line(CHECK_WORDS) == CHECK_WORDS
    assert escape.markdown_cell("a | b > c") == "a \\| b > c"
    assert escape.markdown_line("> quote") == "\\> quote"


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_line_renders_as_the_same_text(text: str) -> None:
    """A line of summary.md (a list item) is inert where GitHub renders it, as the text itself."""
    import html

    for line in (escape.markdown_line(text), f"- {escape.markdown_line(text)}"):
        rendered = RENDER.render(line)
        assert not MARKUP.search(rendered.replace("<ul>\n<li>", "").replace("</li>\n</ul>", "")), rendered
        shown = html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()
        assert shown == " ".join(text.split())
