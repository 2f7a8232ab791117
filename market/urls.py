"""``market:`` pages. The quote page's routes; the symbol search and watchlists join here."""

from django.urls import path

from market.views import quotes

app_name = "market"

urlpatterns = [
    # Same name twice: ``{% url 'market:quotes' %}`` (the nav) opens the default symbol.
    path("quotes/", quotes.quote_jump, name="quotes"),
    path("quotes/<str:code>/", quotes.quote_page, name="quotes"),
    path("quotes/<str:code>/candles/", quotes.quote_candles, name="quote_candles"),
]
