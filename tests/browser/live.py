"""A real daphne serving the real ``kisweb.asgi.application``, in a forked process.

Forking (not spawning) means the child starts with the parent's configured settings: the
test database name, the simulator's endpoints, anything a fixture changed before the fork.
"""

from __future__ import annotations

from django.db import connections


def _application():
    from kisweb.asgi import application

    return application


def _forget_inherited_connections():
    # The parent's connections were closed before the fork; make sure the child opens its
    # own rather than ever touching a handle it inherited.
    for connection in connections.all(initialized_only=True):
        connection.connection = None


class LiveDaphne:
    """``with LiveDaphne() as server: server.url`` — daphne on a free loopback port."""

    host = "127.0.0.1"
    startup_timeout_s = 30

    def __enter__(self) -> LiveDaphne:
        from daphne.testing import DaphneProcess

        connections.close_all()
        self.process = DaphneProcess(self.host, _application, setup=_forget_inherited_connections)
        self.process.start()
        if not self.process.ready.wait(self.startup_timeout_s):
            self.process.terminate()
            detail = "" if self.process.errors.empty() else self.process.errors.get()[1]
            raise RuntimeError(f"daphne did not start:\n{detail}")
        self.url = f"http://{self.host}:{self.process.port.value}"
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        self.process.join(timeout=10)
