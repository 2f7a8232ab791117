"""The one layout: the environment badge, the navigation, toasts and the user."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.messages import constants, get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from tests.layout.conftest import inspect_html

NAV = {
    "trading:portfolio": "Portfolio",
    "trading:order_ticket": "Trade",
    "market:quotes": "Quotes",
    "market:watchlists": "Watchlists",
    "trading:order_list": "Orders",
}


def credential(environment: str) -> SimpleNamespace:
    """Stands in for the accounts app's Credential: the attributes the layout reads."""
    return SimpleNamespace(
        label=f"{environment}-account",
        environment=environment,
        is_paper=environment == "paper",
        get_environment_display=lambda: environment,
    )


def render_page(rf, user, language="ko", **context) -> str:
    request = rf.get("/")
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    with translation.override(language):
        return render_to_string("base.html", context, request=request)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("environment", "language", "text"),
    [
        ("paper", "ko", "모의투자"),
        ("paper", "en", "Paper trading"),
        ("real", "ko", "실전투자"),
        ("real", "en", "Real trading"),
    ],
    ids=["paper-ko", "paper-en", "real-ko", "real-en"],
)
def test_the_badge_names_the_environment_in_its_own_colour(rf, member, environment, language, text):
    html = render_page(rf, member, language, current_credential=credential(environment))
    badge = f'<span class="env-badge env-badge--{environment}">{text}</span>'
    assert badge in html
    assert f"{environment}-account" in html


@pytest.mark.django_db
def test_no_badge_without_a_selected_credential(rf, member):
    html = render_page(rf, member, current_credential=None)
    assert "env-badge" not in html


def test_paper_and_real_badges_are_styled_apart():
    css = Path(finders.find("css/kisweb.css")).read_text(encoding="utf-8")
    paper = css.split(".env-badge--paper {", 1)[1].split("}", 1)[0]
    real = css.split(".env-badge--real {", 1)[1].split("}", 1)[0]
    assert "var(--paper-bg)" in paper
    assert "var(--real-bg)" in real
    assert "--up: #d60000;" in css
    assert "--down: #0051c7;" in css
    assert "tabular-nums" in css


@pytest.mark.django_db
def test_nav_items_are_disabled_until_their_pages_exist(rf, member):
    html = render_page(rf, member, "en")
    for name, label in NAV.items():
        try:
            url = reverse(name)
        except NoReverseMatch:
            assert f'<a class="nav-link" role="link" aria-disabled="true">{label}</a>' in html
        else:
            assert f'<a class="nav-link" href="{url}">{label}</a>' in html


@pytest.mark.django_db
@pytest.mark.urls("tests.layout.urls")
def test_nav_items_light_up_when_their_urls_resolve(rf, member):
    html = render_page(rf, member, "en")
    assert 'aria-disabled="true"' not in html
    assert '<a class="nav-link" href="/__layout__/trading/portfolio/">Portfolio</a>' in html
    assert '<a class="nav-link" href="/__layout__/trading/ticket/">Trade</a>' in html
    assert '<a class="nav-link" href="/__layout__/market/quotes/">Quotes</a>' in html
    assert '<a class="nav-link" href="/__layout__/market/watchlists/">Watchlists</a>' in html
    assert '<a class="nav-link" href="/__layout__/trading/orders/">Orders</a>' in html


@pytest.mark.django_db
@pytest.mark.urls("tests.layout.urls")
def test_the_current_page_is_marked_in_the_nav(client, member):
    client.force_login(member)
    response = client.get("/__layout__/trading/portfolio/", HTTP_ACCEPT_LANGUAGE="en")
    html = render_to_string("includes/nav.html", {"request": response.wsgi_request})
    assert 'href="/__layout__/trading/portfolio/" aria-current="page"' in html
    assert 'href="/__layout__/market/quotes/" aria-current' not in html


@pytest.mark.django_db
def test_signed_in_page_shows_user_health_strip_and_sign_out(client, member):
    client.force_login(member)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").text
    assert '<span class="user"' in html and ">layout-member</span>" in html
    assert '<div id="health-strip" class="health-strip" role="status" aria-live="polite">' in html
    assert 'action="/accounts/logout/"' in html


@pytest.mark.django_db
def test_strangers_get_no_nav_and_no_user(client):
    html = client.get(reverse("login")).text
    assert 'class="mainnav"' not in html
    assert 'id="health-strip"' not in html
    assert 'action="/accounts/logout/"' not in html


@pytest.mark.django_db
def test_messages_become_toasts_in_a_live_region(rf, member):
    request = rf.get("/")
    request.user = member
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    request._messages.add(constants.SUCCESS, "Credential saved")
    request._messages.add(constants.ERROR, "Verification failed")
    with translation.override("en"):
        html = render_to_string("base.html", {"messages": get_messages(request)}, request=request)
    assert '<section class="toasts" aria-live="polite" aria-label="Notifications">' in html
    assert '<div class="toast toast--success" role="status">' in html
    assert '<div class="toast toast--error" role="alert">' in html
    assert "<p>Credential saved</p>" in html
    # The dismiss button waits for the script; without JavaScript the toast just stays.
    assert html.count('data-dismiss="toast" hidden aria-label="Dismiss"') == 2
    assert inspect_html(html).inline_scripts == []


@pytest.mark.django_db
def test_the_language_switch_is_a_post_form_to_set_language(rf, member):
    html = render_page(rf, member, "ko")
    assert '<form class="language-switch" method="post" action="/i18n/setlang/">' in html
    assert 'name="language" value="ko" lang="ko" aria-pressed="true">한국어</button>' in html
    assert 'name="language" value="en" lang="en" aria-pressed="false">English</button>' in html
    assert inspect_html(html).post_forms_without_csrf == []


@pytest.mark.django_db
def test_members_reach_their_account_pages_from_the_nav(client, member):
    client.force_login(member)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").text
    for url, label in [
        (reverse("accounts:credential_list"), "Credentials"),
        (reverse("accounts:two_factor_setup"), "Two-factor"),
        (reverse("accounts:audit_log"), "Activity"),
        (reverse("password_change"), "Password"),
    ]:
        assert f'<a class="nav-link" href="{url}">{label}</a>' in html
    assert reverse("admin:index") not in html


@pytest.mark.django_db
def test_staff_also_get_the_admin_link(client, member):
    member.is_staff = True
    member.save(update_fields=["is_staff"])
    client.force_login(member)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").text
    assert f'<a class="nav-link" href="{reverse("admin:index")}">Admin</a>' in html
