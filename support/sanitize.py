"""HTML message bodies are kept only as nh3 leaves them: no scripts, styles or handlers."""

from __future__ import annotations

import nh3

TAGS = {"a", "b", "blockquote", "br", "code", "div", "em", "i", "li", "ol", "p", "pre",
        "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "u", "ul", "h1", "h2",
        "h3", "h4", "hr"}


def html_clean(html: str) -> str:
    return nh3.clean(html, tags=TAGS, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow")
