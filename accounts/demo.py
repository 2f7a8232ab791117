"""The demo's sign-in: a fixed user that only ever exists in demo mode."""

from django.conf import settings
from django.contrib.auth import get_user_model

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "kisweb-demo"  # noqa: S105 - printed by `make demo`; demo mode only


def ensure_demo_data():
    """Create the demo user (idempotent). Refuses outside demo mode."""
    if settings.KISWEB_MODE != "demo":
        raise RuntimeError("demo data is only for demo mode")
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=DEMO_USERNAME)
    if created or not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user
