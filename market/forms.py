"""Forms of the watchlist pages. Rules live in ``market.watchlists``; these only parse."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from market.models import Symbol, Watchlist
from market.symbols import MAX_QUERY_CHARS
from market.watchlists import DOWN, UP


class WatchlistNameForm(forms.Form):
    name = forms.CharField(
        label=_("Watchlist name"),
        max_length=Watchlist._meta.get_field("name").max_length,
        error_messages={
            "required": _("Give the watchlist a name."),
            "max_length": _("A watchlist name has at most %(limit_value)d characters."),
        },
    )


class AddSymbolForm(forms.Form):
    symbol = forms.CharField(
        label=_("Code or name"),
        max_length=MAX_QUERY_CHARS,
        error_messages={
            "required": _("Type a code or a name to add."),
            "max_length": _("Type at most %(limit_value)d characters."),
        },
    )
    # Set by the autocomplete (or a candidate's button) so an exact pick is never ambiguous.
    market = forms.ChoiceField(choices=[("", ""), *Symbol.Market.choices], required=False)


class MoveForm(forms.Form):
    direction = forms.ChoiceField(
        choices=[(UP, _("Up")), (DOWN, _("Down"))],
        error_messages={"required": _("Say which way to move it.")},
    )


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Code or name"), max_length=MAX_QUERY_CHARS, required=False)
