"""Running kisweb as a service: heartbeats, health and readiness, JSON logs with a request
id, Prometheus metrics, and the task worker (`manage.py taskworker`). docs/design.md,
"Hosted processes", says how the parts fit."""
