"""``market:`` pages: symbol search and watchlists (the quote pages join them here)."""

from django.urls import path

from market.views import search, watchlists

app_name = "market"

urlpatterns = [
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
