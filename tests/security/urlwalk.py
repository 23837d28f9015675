"""Every URL pattern of the site, read from the URLconf, so the security tests cover a
new URL without anyone listing it."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str        # "namespace:name", or the view's dotted path when unnamed
    route: str       # the pattern's text, e.g. "finances/invoices/<int:pk>/"
    kwargs: tuple[str, ...]
    callback: object

    @property
    def is_staff(self) -> bool:
        return self.route.startswith("staff/")

    @property
    def is_auth(self) -> bool:
        return self.route.startswith("auth/")

    def fill(self, values: dict[str, object]) -> str:
        """The path with each ``<conv:kwarg>`` replaced by ``values[kwarg]``."""
        import re

        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]),
                            self.route)


def routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str, converters: tuple[str, ...]):
        for entry in patterns:
            text = str(entry.pattern)
            kwargs = converters + tuple(getattr(entry.pattern, "converters", {}) or ())
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, prefix + text, inner, kwargs)
            elif isinstance(entry, URLPattern):
                callback = entry.callback
                name = f"{namespace}{entry.name}" if entry.name else \
                    f"{callback.__module__}.{callback.__qualname__}"
                found.append(Route(name, prefix + text, kwargs, callback))

    walk(get_resolver().url_patterns, "", "", ())
    return found


def client_area_routes() -> list[Route]:
    return [r for r in routes() if not r.is_staff and not r.is_auth
            and not r.route.startswith(("static/", "media/"))]
