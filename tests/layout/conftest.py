"""Helpers for the layout tests: a signed-in member and an HTML inspector."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

# Script types a browser would execute; anything else (application/json) is a data block.
EXECUTABLE_SCRIPT_TYPES = {"", "text/javascript", "module", "application/javascript"}


# Directive by directive (django-csp writes them in no fixed order). connect-src is the
# site's own origin only: 'self' covers ws:/wss: to it (CSP Level 3), nothing else.
EXPECTED_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def policy_directives(header: str) -> dict[str, str]:
    """A Content-Security-Policy header as {directive: sources}."""
    directives = [part.strip().split(" ", 1) for part in header.split(";")]
    assert all(len(directive) == 2 for directive in directives), header
    parsed = {name: value for name, value in directives}
    assert len(parsed) == len(directives), f"a directive is repeated: {header}"
    return parsed


@dataclass
class PageAnatomy:
    """What the CSP and CSRF rules care about in one HTML page."""

    inline_scripts: list[str] = field(default_factory=list)
    style_elements: int = 0
    style_attributes: list[str] = field(default_factory=list)
    event_handler_attributes: list[str] = field(default_factory=list)
    post_forms_without_csrf: list[str] = field(default_factory=list)


class _Inspector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.anatomy = PageAnatomy()
        self._script: dict | None = None
        self._form: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, _value in attrs:
            if name == "style":
                self.anatomy.style_attributes.append(tag)
            if name.startswith("on"):
                self.anatomy.event_handler_attributes.append(f"{tag}[{name}]")
        if tag == "script":
            self._script = {"attrs": attributes, "text": ""}
        elif tag == "style":
            self.anatomy.style_elements += 1
        elif tag == "form":
            method = (attributes.get("method") or "get").lower()
            self._form = {"post": method == "post", "action": attributes.get("action")}
        elif (
            tag == "input"
            and self._form is not None
            and attributes.get("name") == "csrfmiddlewaretoken"
            and attributes.get("value")
        ):
            self._form["csrf"] = True

    def handle_data(self, data):
        if self._script is not None:
            self._script["text"] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            script, self._script = self._script, None
            kind = (script["attrs"].get("type") or "").lower()
            if "src" not in script["attrs"] and kind in EXECUTABLE_SCRIPT_TYPES:
                self.anatomy.inline_scripts.append(script["text"].strip()[:80])
        elif tag == "form" and self._form is not None:
            form, self._form = self._form, None
            if form["post"] and not form.get("csrf"):
                self.anatomy.post_forms_without_csrf.append(str(form["action"]))


def inspect_html(html: str) -> PageAnatomy:
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector.anatomy


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user("layout-member", password="layout-pass-1")
