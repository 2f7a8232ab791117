"""Watchlist rules: limits, names, order. Views call these; each raises ``WatchlistError``
with a sentence for the person and changes nothing when it refuses."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from market.models import Symbol, Watchlist, WatchlistItem

UP, DOWN = "up", "down"


class WatchlistError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _lock_owner(owner: User) -> None:
    # Two tabs creating lists at once must not both pass the limit.
    User.objects.select_for_update().filter(pk=owner.pk).first()


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise WatchlistError(_("Give the watchlist a name."))
    max_length = Watchlist._meta.get_field("name").max_length or 40
    if len(name) > max_length:
        raise WatchlistError(
            _("A watchlist name has at most %(count)d characters.") % {"count": max_length}
        )
    return name


def _name_taken(owner: User, name: str, exclude: int | None = None) -> bool:
    lists = Watchlist.objects.filter(owner=owner, name=name)
    if exclude is not None:
        lists = lists.exclude(pk=exclude)
    return lists.exists()


def create_watchlist(owner: User, name: str) -> Watchlist:
    name = _clean_name(name)
    with transaction.atomic():
        _lock_owner(owner)
        if Watchlist.objects.filter(owner=owner).count() >= Watchlist.MAX_PER_USER:
            raise WatchlistError(
                _("You have %(count)d watchlists, the most allowed. Delete one to make room.")
                % {"count": Watchlist.MAX_PER_USER}
            )
        if _name_taken(owner, name):
            raise WatchlistError(_("You already have a watchlist with that name."))
        last = Watchlist.objects.filter(owner=owner).aggregate(last=Max("position"))["last"]
        return Watchlist.objects.create(
            owner=owner, name=name, position=0 if last is None else last + 1
        )


def rename_watchlist(watchlist: Watchlist, name: str) -> None:
    name = _clean_name(name)
    if _name_taken(watchlist.owner, name, exclude=watchlist.pk):
        raise WatchlistError(_("You already have a watchlist with that name."))
    watchlist.name = name
    try:
        with transaction.atomic():
            watchlist.save(update_fields=["name"])
    except IntegrityError:  # the same name saved by another tab a moment ago
        raise WatchlistError(_("You already have a watchlist with that name.")) from None


def delete_watchlist(watchlist: Watchlist) -> None:
    watchlist.delete()


def _swap(rows: list, index: int, direction: str) -> bool:
    other = index - 1 if direction == UP else index + 1
    if direction not in (UP, DOWN) or not 0 <= other < len(rows):
        return False
    rows[index], rows[other] = rows[other], rows[index]
    return True


def _renumber(rows: list, model: type[Watchlist] | type[WatchlistItem]) -> None:
    for position, row in enumerate(rows):
        row.position = position
    model.objects.bulk_update(rows, ["position"])


def move_watchlist(watchlist: Watchlist, direction: str) -> list[int]:
    """Move a list one place up or down among its owner's lists; returns the new order."""
    with transaction.atomic():
        _lock_owner(watchlist.owner)
        lists = list(Watchlist.objects.filter(owner_id=watchlist.owner_id))
        index = next(i for i, row in enumerate(lists) if row.pk == watchlist.pk)
        if _swap(lists, index, direction):
            _renumber(lists, Watchlist)
        return [row.pk for row in lists]


def _lock(watchlist: Watchlist) -> None:
    Watchlist.objects.select_for_update().filter(pk=watchlist.pk).first()


def add_symbol(watchlist: Watchlist, symbol: Symbol) -> WatchlistItem:
    with transaction.atomic():
        _lock(watchlist)
        items = WatchlistItem.objects.filter(watchlist=watchlist)
        if items.filter(symbol=symbol).exists():
            raise WatchlistError(
                _("%(name)s is already in this watchlist.") % {"name": symbol.name}
            )
        if items.count() >= Watchlist.MAX_SYMBOLS:
            raise WatchlistError(
                _("A watchlist holds at most %(count)d symbols. Remove one or use another list.")
                % {"count": Watchlist.MAX_SYMBOLS}
            )
        last = items.aggregate(last=Max("position"))["last"]
        return WatchlistItem.objects.create(
            watchlist=watchlist, symbol=symbol, position=0 if last is None else last + 1
        )


def remove_item(item: WatchlistItem) -> None:
    item.delete()


def move_item(item: WatchlistItem, direction: str) -> list[int]:
    """Move a row one place up or down; returns the list's item ids in their new order."""
    with transaction.atomic():
        _lock(item.watchlist)
        items = list(WatchlistItem.objects.filter(watchlist_id=item.watchlist_id))
        index = next(i for i, row in enumerate(items) if row.pk == item.pk)
        if _swap(items, index, direction):
            _renumber(items, WatchlistItem)
        return [row.pk for row in items]


def resolve_symbol(text: str, market: str = "") -> Symbol | list[Symbol]:
    """The symbol a person typed: an exact code (in ``market`` when given) or an exact name;
    otherwise the search's candidates for them to pick from."""
    from market.symbols import search

    text = text.strip()
    if not text:
        raise WatchlistError(_("Type a code or a name to add."))
    listed = Symbol.objects.filter(is_active=True)
    exact = listed.filter(code=text.upper())
    if market:
        exact = exact.filter(market=market)
    found = list(exact[:2])
    if len(found) == 1:
        return found[0]
    named = list(listed.filter(name=text)[:2])
    if len(named) == 1 and not found:
        return named[0]
    candidates = search(text)
    if not candidates:
        raise WatchlistError(
            _("No listed symbol matches “%(query)s”. Check the code or the name.")
            % {"query": text[:40]}
        )
    return candidates
