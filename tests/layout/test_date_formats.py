from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import formats, translation

MOMENT = datetime(2026, 11, 25, 14, 5, 9, tzinfo=ZoneInfo("Asia/Seoul"))


def test_korean_pages_use_the_24_hour_clock():
    with translation.override("ko"):
        assert formats.date_format(MOMENT, "DATETIME_FORMAT") == "2026년 11월 25일 14:05:09"
        assert formats.date_format(MOMENT, "SHORT_DATETIME_FORMAT") == "2026-11-25 14:05"


def test_english_pages_keep_the_same_clock():
    with translation.override("en"):
        assert formats.date_format(MOMENT, "DATETIME_FORMAT") == "Nov. 25, 2026, 14:05:09"
        assert formats.date_format(MOMENT, "SHORT_DATETIME_FORMAT") == "2026-11-25 14:05"
