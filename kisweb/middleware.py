"""A Content-Security-Policy on every response (Django 5.2 has none built in)."""

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware

# Scripts and styles come only from our own static files: no inline code, no inline styles.
# WebSockets (ws:, wss:) carry the live quotes and fills; forms post only to ourselves.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; font-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'self'; object-src 'none'"
)


@sync_and_async_middleware
def content_security_policy(get_response):
    """Adds the policy to every response that has none of its own.

    Both flavours, so that under daphne the request stays on the event loop instead of
    hopping to a thread for this one header.
    """
    if iscoroutinefunction(get_response):

        async def middleware(request):
            response = await get_response(request)
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            return response

    else:

        def middleware(request):
            response = get_response(request)
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            return response

    return middleware
