"""Heartbeats: one timestamp per (process kind, instance), written by the running process.

In the database so that demo (SQLite) and hosted (PostgreSQL) read them the same way and
every web process answers `/readyz` alike. The same table keeps the scheduler's last
enqueue per periodic task (name ``schedule``), so several workers enqueue it once.
"""

from django.db import models


class Heartbeat(models.Model):
    name = models.CharField(max_length=32)  # "worker", "relay", "schedule"
    instance = models.CharField(max_length=64, default="")  # worker id, task name
    at = models.DateTimeField()
    pid = models.IntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["name", "instance"], name="ops_heartbeat_unique"),
        )

    def __str__(self) -> str:
        return f"{self.name} {self.instance} {self.at:%Y-%m-%d %H:%M:%S}"
