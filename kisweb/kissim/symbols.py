"""The listed instruments: real KRX codes and Korean names, a few US tickers.

Base prices (the previous close, `stck_sdpr`) are round figures near recent levels; they
only seed the random walk.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache

# (code, Korean name, base price KRW, market label for rprs_mrkt_kor_name)
KRX_LISTINGS: tuple[tuple[str, str, int, str], ...] = (
    ("005930", "삼성전자", 71000, "KOSPI200"),
    ("000660", "SK하이닉스", 198000, "KOSPI200"),
    ("373220", "LG에너지솔루션", 365000, "KOSPI200"),
    ("207940", "삼성바이오로직스", 980000, "KOSPI200"),
    ("005380", "현대차", 215000, "KOSPI200"),
    ("000270", "기아", 98000, "KOSPI200"),
    ("068270", "셀트리온", 182000, "KOSPI200"),
    ("005490", "POSCO홀딩스", 312000, "KOSPI200"),
    ("035420", "NAVER", 192000, "KOSPI200"),
    ("035720", "카카오", 41250, "KOSPI200"),
    ("051910", "LG화학", 298000, "KOSPI200"),
    ("006400", "삼성SDI", 258000, "KOSPI200"),
    ("105560", "KB금융", 82600, "KOSPI200"),
    ("055550", "신한지주", 51800, "KOSPI200"),
    ("012330", "현대모비스", 243000, "KOSPI200"),
    ("028260", "삼성물산", 128500, "KOSPI200"),
    ("066570", "LG전자", 91200, "KOSPI200"),
    ("003550", "LG", 76500, "KOSPI200"),
    ("032830", "삼성생명", 88900, "KOSPI200"),
    ("086790", "하나금융지주", 62300, "KOSPI200"),
    ("015760", "한국전력", 21750, "KOSPI200"),
    ("017670", "SK텔레콤", 53800, "KOSPI200"),
    ("030200", "KT", 41350, "KOSPI200"),
    ("034730", "SK", 137600, "KOSPI200"),
    ("096770", "SK이노베이션", 101300, "KOSPI200"),
    ("009150", "삼성전기", 128900, "KOSPI200"),
    ("018260", "삼성에스디에스", 142500, "KOSPI200"),
    ("011200", "HMM", 18260, "KOSPI200"),
    ("010130", "고려아연", 812000, "KOSPI200"),
    ("033780", "KT&G", 110400, "KOSPI200"),
    ("003670", "포스코퓨처엠", 231000, "KOSPI200"),
    ("259960", "크래프톤", 298500, "KOSPI200"),
    ("352820", "하이브", 218000, "KOSPI200"),
    ("036570", "엔씨소프트", 187200, "KOSPI200"),
    ("251270", "넷마블", 47850, "KOSPI200"),
    ("323410", "카카오뱅크", 21600, "KOSPI200"),
    ("377300", "카카오페이", 29350, "KOSPI"),
    ("010950", "S-Oil", 56700, "KOSPI200"),
    ("009540", "HD한국조선해양", 186400, "KOSPI200"),
    ("329180", "HD현대중공업", 276000, "KOSPI200"),
    ("012450", "한화에어로스페이스", 382000, "KOSPI200"),
    ("047810", "한국항공우주", 58900, "KOSPI200"),
    ("042660", "한화오션", 32450, "KOSPI200"),
    ("000810", "삼성화재", 351500, "KOSPI200"),
    ("316140", "우리금융지주", 15240, "KOSPI200"),
    ("024110", "기업은행", 14380, "KOSPI200"),
    ("034020", "두산에너빌리티", 19870, "KOSPI200"),
    ("011170", "롯데케미칼", 72400, "KOSPI200"),
    ("090430", "아모레퍼시픽", 112300, "KOSPI200"),
    ("097950", "CJ제일제당", 256000, "KOSPI200"),
    ("271560", "오리온", 98700, "KOSPI200"),
    ("004020", "현대제철", 24350, "KOSPI200"),
    ("000100", "유한양행", 119800, "KOSPI200"),
    ("128940", "한미약품", 298500, "KOSPI200"),
    ("011070", "LG이노텍", 152400, "KOSPI200"),
    ("032640", "LG유플러스", 10080, "KOSPI200"),
    ("161390", "한국타이어앤테크놀로지", 38650, "KOSPI200"),
    ("267250", "HD현대", 78300, "KOSPI200"),
    ("003490", "대한항공", 21950, "KOSPI200"),
    ("086280", "현대글로비스", 118600, "KOSPI200"),
    ("021240", "코웨이", 63900, "KOSPI200"),
    ("139480", "이마트", 68300, "KOSPI200"),
    ("010140", "삼성중공업", 11250, "KOSPI200"),
    ("034220", "LG디스플레이", 10320, "KOSPI200"),
    ("088350", "한화생명", 2745, "KOSPI200"),
    ("247540", "에코프로비엠", 172300, "KOSDAQ150"),
    ("086520", "에코프로", 78400, "KOSDAQ150"),
    ("263750", "펄어비스", 38200, "KOSDAQ150"),
    ("293490", "카카오게임즈", 17950, "KOSDAQ150"),
)

# (ticker, Korean name, base price USD, quote exchange code EXCD)
US_LISTINGS: tuple[tuple[str, str, str, str], ...] = (
    ("AAPL", "애플", "189.84", "NAS"),
    ("MSFT", "마이크로소프트", "415.50", "NAS"),
    ("NVDA", "엔비디아", "124.30", "NAS"),
    ("TSLA", "테슬라", "248.50", "NAS"),
    ("AMZN", "아마존닷컴", "186.40", "NAS"),
    ("GOOGL", "알파벳 A", "172.60", "NAS"),
    ("META", "메타 플랫폼스", "505.20", "NAS"),
    ("NFLX", "넷플릭스", "680.10", "NAS"),
    ("AMD", "AMD", "158.20", "NAS"),
    ("INTC", "인텔", "30.45", "NAS"),
    ("QCOM", "퀄컴", "198.30", "NAS"),
    ("AVGO", "브로드컴", "165.40", "NAS"),
    ("KO", "코카콜라", "62.15", "NYS"),
    ("JPM", "JP모간 체이스", "205.30", "NYS"),
    ("V", "비자", "276.40", "NYS"),
    ("WMT", "월마트", "68.90", "NYS"),
    ("DIS", "월트 디즈니", "101.20", "NYS"),
    ("XOM", "엑슨모빌", "113.50", "NYS"),
    ("IBM", "IBM", "183.20", "NYS"),
    ("BA", "보잉", "178.60", "NYS"),
)

# Quote exchange code (EXCD) <-> order/account exchange code (OVRS_EXCG_CD), §4.3 of
# docs/kis-protocol.md.
EXCD_TO_ORDER_EXCHANGE = {"NAS": "NASD", "NYS": "NYSE", "AMS": "AMEX"}
ORDER_EXCHANGE_TO_EXCD = {v: k for k, v in EXCD_TO_ORDER_EXCHANGE.items()}

KRW = "KRW"
USD = "USD"


@lru_cache(maxsize=65536)  # the walk asks for the same few thousand prices over and over
def krx_tick(price: Decimal) -> Decimal:
    """KRX unified tick table (docs/kis-protocol.md §8)."""
    for bound, tick in (
        (2_000, 1),
        (5_000, 5),
        (20_000, 10),
        (50_000, 50),
        (200_000, 100),
        (500_000, 500),
    ):
        if price < bound:
            return Decimal(tick)
    return Decimal(1000)


@lru_cache(maxsize=65536)
def us_tick(price: Decimal) -> Decimal:
    return Decimal("0.01") if price >= 1 else Decimal("0.0001")


@dataclass(frozen=True)
class Fundamentals:
    """What the quote TRs report about an issuer; the random walk never moves these."""

    listed_shares: int  # lstn_stcn
    sector: str  # bstp_kor_isnm
    capital_100m_krw: int  # cpfn: paid-in capital in 억 won
    face_value: int  # stck_fcam
    per: Decimal
    pbr: Decimal
    foreign_ratio: Decimal  # hts_frgn_ehrt, percent
    foreign_shares: int  # frgn_hldn_qty


# Figures of 005930 (Samsung Electronics); other KRX listings reuse them without a sector.
_KRX_FUNDAMENTALS = Fundamentals(
    listed_shares=5_969_782_550,
    sector="",
    capital_100m_krw=7780,
    face_value=100,
    per=Decimal("15.20"),
    pbr=Decimal("1.30"),
    foreign_ratio=Decimal("50.12"),
    foreign_shares=2_992_000_000,
)
# Round figures for every US listing: no par value, no foreign-ownership limit.
_US_FUNDAMENTALS = Fundamentals(
    listed_shares=1_000_000_000,
    sector="",
    capital_100m_krw=0,
    face_value=0,
    per=Decimal("25.00"),
    pbr=Decimal("8.00"),
    foreign_ratio=Decimal("0.00"),
    foreign_shares=0,
)
FUNDAMENTALS: dict[str, Fundamentals] = {
    "005930": replace(_KRX_FUNDAMENTALS, sector="전기.전자"),
}
_US_TICKERS = frozenset(ticker for ticker, *_ in US_LISTINGS)


def fundamentals(code: str) -> Fundamentals:
    default = _US_FUNDAMENTALS if code in _US_TICKERS else _KRX_FUNDAMENTALS
    return FUNDAMENTALS.get(code, default)


# The one exchange rate of the simulated world (KRW per USD); no FX moves are simulated.
USD_KRW = Decimal("1380")

# PRDT_TYPE_CD of the product-information TRs: KRX stock, then by quote exchange (EXCD).
KRX_PRODUCT_TYPE = "300"
US_PRODUCT_TYPES = {"NAS": "512", "NYS": "513", "AMS": "529"}


def krx_isin(code: str) -> str:
    """The ISIN of a KRX common share: KR7, the six-digit code, 00, and the check digit."""
    body = f"KR7{code}00"
    digits = "".join(str(int(ch, 36)) for ch in body)  # letters count 10..35
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if position % 2 == 0 else 1)
        total += value // 10 + value % 10
    return f"{body}{(10 - total % 10) % 10}"
