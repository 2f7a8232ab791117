"""connect-src 'self' in a real browser: a WebSocket to the site's own origin may be
opened (CSP Level 3 counts ws: to the same host and port as 'self'), one to any other
origin is refused by the browser before it dials. That is what keeps a stolen quote or
order stream from leaving the page."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Opens a WebSocket and reports how it ended and whether the page saw a CSP violation.
OPEN_SOCKET = """async (url) => {
  const violations = [];
  document.addEventListener("securitypolicyviolation", (event) => {
    violations.push(`${event.effectiveDirective} ${event.blockedURI}`);
  });
  const outcome = await new Promise((resolve) => {
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      resolve(`thrown: ${error.name}`);
      return;
    }
    socket.onopen = () => resolve("open");
    socket.onclose = () => resolve("closed");
    // A refused socket may never report back; the violation event is what counts.
    setTimeout(() => resolve("no answer"), 3000);
  });
  // The violation event is queued as a task; let it run before answering.
  await new Promise((resolve) => setTimeout(resolve, 0));
  return {outcome, violations};
}"""


def test_a_websocket_to_the_sites_own_origin_is_allowed(page, live_site, console_watch):
    # No consumer serves this path, so the server refuses the handshake (403): the point
    # is that the browser sent it at all.
    console_watch.expect("WebSocket connection to")
    page.goto("/accounts/login/")
    url = live_site.url.replace("http://", "ws://") + "/ws/nowhere/"
    result = page.evaluate(OPEN_SOCKET, url)
    assert result == {"outcome": "closed", "violations": []}


@pytest.mark.parametrize(
    "foreign",
    ["ws://example.invalid/stream", "wss://example.invalid/stream", "ws://127.0.0.1:9/stream"],
)
def test_a_websocket_to_another_origin_is_blocked_by_the_policy(page, console_watch, foreign):
    console_watch.expect(
        "violates the following Content Security Policy directive: \"connect-src 'self'\""
    )
    page.goto("/accounts/login/")
    result = page.evaluate(OPEN_SOCKET, foreign)
    assert result["outcome"] != "open"
    assert len(result["violations"]) == 1
    assert result["violations"][0].startswith("connect-src ")
