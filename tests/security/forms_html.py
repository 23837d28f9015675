"""The forms of a page, read with the standard library's HTML parser: where each posts
and which fields it sends, with their values as the page fills them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class FormField:
    name: str
    kind: str            # input type, "select" or "textarea"
    value: str = ""
    choices: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    method: str
    fields: list[FormField] = field(default_factory=list)
    htmx_values: dict[str, str] | None = None  # hx-vals of an htmx form (its live preview)

    def defaults(self) -> dict[str, list[str]]:
        """What a browser sends when the form is submitted untouched."""
        data: dict[str, list[str]] = {}
        for item in self.fields:
            if item.kind in ("checkbox", "radio") and item.value == "":
                continue
            data.setdefault(item.name, []).append(item.value)
        return data


class _Parser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: FormField | None = None
        self._option: str | None = None
        self._textarea: FormField | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            action = a.get("hx-post") or a.get("action") or self.page_url
            method = "post" if a.get("hx-post") else (a.get("method") or "get").lower()
            self._form = Form(action, method)
            if a.get("hx-post"):
                try:
                    values = json.loads(a.get("hx-vals") or "{}")
                except ValueError:
                    values = {}
                self._form.htmx_values = {k: str(v) for k, v in values.items()}
            self.forms.append(self._form)
        elif self._form is None or "name" not in a or "disabled" in a:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                if kind == "submit" and a.get("name"):
                    self._form.fields.append(FormField(a["name"], "submit", a.get("value", "")))
                return
            checked = "checked" in a
            value = a.get("value", "on" if kind in ("checkbox", "radio") else "")
            if kind in ("checkbox", "radio") and not checked:
                self._form.fields.append(FormField(a["name"], kind, "", [value]))
            else:
                self._form.fields.append(FormField(a["name"], kind, value, [value]))
        elif tag == "select":
            self._select = FormField(a["name"], "select")
            self._form.fields.append(self._select)
        elif tag == "textarea":
            self._textarea = FormField(a["name"], "textarea")
            self._form.fields.append(self._textarea)
        elif tag == "button" and a.get("name"):
            self._form.fields.append(FormField(a["name"], "submit", a.get("value", "")))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            select = self._select
            if select is not None and not select.value and select.choices:
                select.value = select.choices[0]
            self._select = None
        elif tag == "textarea":
            self._textarea = None


class _OptionAware(_Parser):
    def handle_starttag(self, tag, attrs):
        if tag == "option" and self._select is not None:
            a = {k: (v or "") for k, v in attrs}
            self._select.choices.append(a.get("value", ""))
            if "selected" in a:
                self._select.value = a.get("value", "")
            return
        super().handle_starttag(tag, attrs)


def page_forms(html: str, page_url: str) -> list[Form]:
    parser = _OptionAware(page_url)
    parser.feed(html)
    parser.close()
    return parser.forms
