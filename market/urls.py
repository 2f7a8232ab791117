"""``market:`` pages: quotes, symbol search and watchlists."""

from django.urls import path

from market.views import quotes, search, watchlists

app_name = "market"

urlpatterns = [
    # Same name twice: ``{% url 'market:quotes' %}`` (the nav) opens the default symbol.
    path("quotes/", quotes.quote_jump, name="quotes"),
    path("quotes/<str:code>/", quotes.quote_page, name="quotes"),
    path("quotes/<str:code>/candles/", quotes.quote_candles, name="quote_candles"),
    path("symbols/search/", search.symbol_search, name="symbol_search"),
    path("search/", search.search_page, name="search"),
    path("watchlists/", watchlists.watchlist_index, name="watchlists"),
    path("watchlists/new/", watchlists.watchlist_create, name="watchlist_create"),
    path("watchlists/<int:pk>/", watchlists.watchlist_detail, name="watchlist"),
    path("watchlists/<int:pk>/rename/", watchlists.watchlist_rename, name="watchlist_rename"),
    path("watchlists/<int:pk>/delete/", watchlists.watchlist_delete, name="watchlist_delete"),
    path("watchlists/<int:pk>/move/", watchlists.watchlist_move, name="watchlist_move"),
    path("watchlists/<int:pk>/add/", watchlists.watchlist_add, name="watchlist_add"),
    path(
        "watchlists/<int:pk>/items/<int:item_pk>/remove/",
        watchlists.item_remove,
        name="watchlist_item_remove",
    ),
    path(
        "watchlists/<int:pk>/items/<int:item_pk>/move/",
        watchlists.item_move,
        name="watchlist_item_move",
    ),
]
