"""English pages keep the market's 24-hour clock (KST), like the Korean ones."""

DATE_FORMAT = "N j, Y"
TIME_FORMAT = "H:i:s"
DATETIME_FORMAT = "N j, Y, H:i:s"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
