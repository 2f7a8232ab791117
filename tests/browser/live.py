"""A real daphne serving the real ``kisweb.asgi.application``, in a forked process.

Forking (not spawning) means the child starts with the parent's configured settings: the
test database name, the simulator's endpoints, anything a fixture changed before the fork.
"""

from __future__ import annotations

from django.db import connections


def _application():
    from kisweb.asgi import application

    return application


class LiveDaphne:
    """``with LiveDaphne() as server: server.url`` — daphne on a free loopback port.

    ``db_blocker`` is pytest-django's ``django_db_blocker``: the fork inherits its block on
    database access, which the server process lifts for itself.
    """

    host = "127.0.0.1"
    startup_timeout_s = 30

    def __init__(self, db_blocker=None):
        self.db_blocker = db_blocker

    def _in_server_process(self) -> None:
        # The parent closed its connections before the fork, so none is inherited open.
        if self.db_blocker is not None:
            self.db_blocker.unblock()

    def __enter__(self) -> LiveDaphne:
        from daphne.testing import DaphneProcess

        connections.close_all()
        self.process = DaphneProcess(self.host, _application, setup=self._in_server_process)
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
