"""User text made inert for the surface it lands on: the one home of escaping, one function per target.

User text is anything from YAML (labels, descriptions, owners, objectives, filter values, event
names) or from the data (breakdown values). Each surface reads some markup, so each has its escape,
applied where the text enters that surface and nowhere else (escaping twice, or escaping for
Markdown where no Markdown is read, shows the backslashes: `product\\_view`):

| surface | reads | function |
|---|---|---|
| Streamlit markdown: st.markdown, captions, titles, alerts, widget and metric labels, help tooltips | Markdown (links, images, Streamlit's `:color[...]`) | `markdown` |
| the same, inside an inline code span | nothing but the closing fence | `markdown_code` |
| st.markdown(..., unsafe_allow_html=True) | Markdown and HTML | `markdown_html` |
| one cell of a Markdown table also read raw (summary.md, pasted into a Slack code block or an email; the diff report) | GitHub-flavoured Markdown, and `|` and a new line end the cell | `markdown_cell` |
| one line of such a document outside a table (summary.md's headings and list items) | GitHub-flavoured Markdown; a new line ends it | `markdown_line` |
| Plotly text: titles, legend names, axis and tick labels, annotations, hover | a little HTML (`<a>`, `<b>`, `<br>`, entities) | `plotly` |
| Plotly hovertemplate | the same, and `%{...}` | `plotly_template` |
| an HTML page (index.html of the review pack); st.html (the dashboard's copy boxes, `views.common.copy_box`) | HTML | `html_text` |

Widget options (a selectbox's choices), dataframes and st.code show text as it is: no escape there.
"""

from __future__ import annotations

import html
import re

# Characters that are Markdown anywhere in a line (CommonMark lets any ASCII punctuation be
# backslash-escaped, and then it is only itself): emphasis, code, links and images, HTML, tables,
# strikethrough, Streamlit's math, entities, autolinks (`https://`). Only these are escaped, so the
# text stays readable where Markdown is read raw (summary.md in a terminal).
_INLINE = "\\`*_[]<>!|~$&:"
# ...and those that are Markdown only at the start of a line: headings, lists, quotes, rules.
_LINE_START = re.compile(r"^(\s*)([#+=>-]|\d+[.)])", re.MULTILINE)
_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)  # GFM links www.example.com without a scheme
_BACKTICKS = re.compile("`+")


def _escape_markdown(text: str, inline: str) -> str:
    text = re.sub("([" + re.escape(inline) + "])", r"\\\1", text)
    text = _LINE_START.sub(lambda m: m[1] + m[2][:-1] + "\\" + m[2][-1], text)
    return _WWW.sub(r"\1\\.", text)


def markdown(text: object) -> str:
    """Text that Markdown (Streamlit's, GitHub's) shows literally: no link, image, emphasis, HTML."""
    return _escape_markdown(str(text), _INLINE)


def markdown_code(text: object) -> str:
    """Text as an inline code span (`x`), with a fence longer than any run of backticks inside."""
    value = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def markdown_html(text: object) -> str:
    """Text for st.markdown(..., unsafe_allow_html=True): HTML-escaped, then Markdown-inert (the
    entities that html.escape wrote stay whole). Not inside an HTML block (a line that opens with
    `<div>`): Markdown is not read there, so `html_text` is the escape."""
    return _escape_markdown(html.escape(str(text), quote=False), _INLINE.replace("&", ""))


# GitHub-flavoured Markdown read where Streamlit is not: `:` and `$` are markup there only as a
# link's scheme (`https://`), an emoji (`:tada:`) and a math span (`$x$`), and `&` only as an entity.
# `>` is markup only at the start of a line (a quote; `_LINE_START`), as `<` is escaped: no tag, no
# autolink. `|` is markup only in a table, so a line outside one keeps it (a check's `|z| > 6`).
_CELL_INLINE = "\\`*_[]<!|~"
_LINE_INLINE = _CELL_INLINE.replace("|", "")
_CELL_SCHEME = re.compile(r":(?=//)")
_CELL_EMOJI = re.compile(r":(?=[a-z0-9_+-]+:)", re.IGNORECASE)
_CELL_MATH = re.compile(r"\$(?=\S)(?=[^$]*\S\$(?!\d))")  # GitHub's inline math: $x$, not $5 or $5 and $6
_CELL_ENTITY = re.compile(r"&(?=#?\w+;)")


def markdown_cell(text: object) -> str:
    """Text for one cell of a Markdown table that is also read raw (summary.md goes into a Slack code
    block and an email's text, where an escape shows as a backslash): on one line, inert in
    GitHub-flavoured Markdown (`|` included), and escaping only what would be markup there, so
    `Revenue: $101k` stays as it is."""
    return _gfm_raw(text, _CELL_INLINE)


def markdown_line(text: object) -> str:
    """Text for one line of such a document outside a table (a heading, a list item): as
    `markdown_cell`, but `|` stays as it is, since only a table reads it."""
    return _gfm_raw(text, _LINE_INLINE)


def _gfm_raw(text: object, inline: str) -> str:
    value = _escape_markdown(" ".join(str(text).split()), inline)
    for pattern in (_CELL_SCHEME, _CELL_EMOJI, _CELL_MATH, _CELL_ENTITY):
        value = pattern.sub(lambda m: "\\" + m[0], value)
    return value


def plotly(text: object) -> str:
    """Text for a Plotly label: its HTML subset escaped (Plotly shows entities as the characters)."""
    return html.escape(str(text), quote=False)


def plotly_template(text: object) -> str:
    """Text inside a Plotly hovertemplate, where `%{...}` would be filled in: `%` as an entity too."""
    return plotly(text).replace("%", "&#37;")


def html_text(text: object, quote: bool = True) -> str:
    """Text (or an attribute value) for an HTML page."""
    return html.escape(str(text), quote=quote)


__all__ = [
    "html_text",
    "markdown",
    "markdown_cell",
    "markdown_code",
    "markdown_html",
    "markdown_line",
    "plotly",
    "plotly_template",
]
