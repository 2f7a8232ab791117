"""``{% health_strip %}``: the strip under the nav on every signed-in page."""

from __future__ import annotations

from typing import Any

from django import template

from market.health import strip_for

register = template.Library()


@register.inclusion_tag("includes/health_strip_body.html", takes_context=True)
def health_strip(context: template.Context) -> dict[str, Any]:
    return {"health": strip_for(context.get("request"))}
