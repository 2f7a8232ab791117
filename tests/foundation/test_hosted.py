"""Hosted mode over real connections: PostgreSQL and the Redis channel layer."""

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.hosted


@pytest.mark.django_db
def test_hosted_mode_stores_in_postgresql():
    assert settings.KISWEB_MODE == "hosted"
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("select current_setting('server_version_num')::int")
        assert cursor.fetchone()[0] >= 130000


async def test_channel_layer_round_trips_through_redis():
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisChannelLayer"
    channel = await layer.new_channel()
    await layer.group_add("hosted.smoke", channel)
    await layer.group_send("hosted.smoke", {"type": "smoke.ping", "price": "70100"})
    assert await layer.receive(channel) == {"type": "smoke.ping", "price": "70100"}
    await layer.group_discard("hosted.smoke", channel)
    await layer.flush()
