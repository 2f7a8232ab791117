"""Dates and times as Korean brokerage screens show them: 24-hour clock, KST."""

DATE_FORMAT = "Y년 n월 j일"
TIME_FORMAT = "H:i:s"
DATETIME_FORMAT = "Y년 n월 j일 H:i:s"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
