"""The layout in a real browser: Korean first, English one click away, toasts, CSP."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_strangers_are_sent_to_sign_in_and_the_page_is_korean(page):
    response = page.goto("/")
    assert response.status == 200
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    assert "default-src 'self'" in response.headers["content-security-policy"].split("; ")


def test_sign_in_shows_the_member_and_the_navigation(signed_in_page, make_member):
    page = signed_in_page(make_member("carol"))
    expect(page.locator(".topbar .user")).to_have_text("carol")
    nav = page.get_by_role("navigation")
    expect(nav.locator("ul:not(.mainnav-account) .nav-link")).to_have_text(
        ["포트폴리오", "주문", "시세", "관심종목", "주문내역"]
    )
    expect(nav.locator(".mainnav-account .nav-link")).to_have_text(
        ["인증 정보", "2단계 인증", "활동 기록", "비밀번호"]
    )
    nav.get_by_role("link", name="인증 정보").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("KIS 인증 정보")
    expect(page.locator("#health-strip")).to_be_attached()


def test_static_files_load_under_the_web_server(page):
    page.goto("/accounts/login/")
    css = page.request.get("/static/css/kisweb.css")
    assert css.status == 200
    assert css.headers["content-type"] == 'text/css; charset="utf-8"'
    # The stylesheet applied: the top bar has its dark background.
    background = page.locator(".topbar").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(27, 42, 65)"


def test_language_switch_to_english_and_back(signed_in_page, make_member):
    page = signed_in_page(make_member("dave"))
    page.locator("form.language-switch button[value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))
    # The choice sticks: the next page is English too.
    page.goto("/accounts/credentials/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.locator("form.language-switch button[value=ko]").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("button", name="로그아웃")).to_be_visible()


def test_the_console_watch_catches_csp_violations(page, console_watch):
    page.goto("/accounts/login/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = 1'; document.body.append(s); }"
    )
    expect(page.locator("body")).to_be_attached()
    assert page.evaluate("() => window.injected") is None
    problems = console_watch.take()
    assert any("Content Security Policy" in problem for problem in problems), problems


def test_pages_work_without_javascript(browser, live_site, make_member):
    make_member("frank")
    context = browser.new_context(base_url=live_site.url, locale="ko-KR", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        form = page.locator("form.sign-in")
        form.locator("input[name=username]").fill("frank")
        form.locator("input[name=password]").fill(PASSWORD)
        form.locator("button[type=submit]").click()
        expect(page.locator(".topbar .user")).to_have_text("frank")
        # Switching the language is a plain form post.
        page.locator("form.language-switch button[value=en]").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    finally:
        context.close()


def test_korean_text_wraps_between_words(page):
    """A narrow window wraps the footer's Korean sentence at spaces, never inside a word."""
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/accounts/login/")
    footer = page.locator(".footer p")
    assert footer.evaluate("el => getComputedStyle(el).wordBreak") == "keep-all"
    # Every line break falls where the text has a space: each word stays on one line.
    words = footer.evaluate(
        """el => {
            const range = document.createRange(), node = el.firstChild, text = node.textContent;
            const tops = [];
            for (let i = 0; i < text.length; i++) {
                range.setStart(node, i); range.setEnd(node, i + 1);
                tops.push(Math.round(range.getBoundingClientRect().top));
            }
            return text.split(' ').map((word, n, all) => {
                const start = all.slice(0, n).join(' ').length + (n ? 1 : 0);
                return new Set(tops.slice(start, start + word.length)).size;
            });
        }"""
    )
    assert len(words) > 3 and set(words) == {1}
