"""What the sample simulates: the vocabulary of trackers and faults, and the default scenario.

Everything a sample contains is decided here, as data: :data:`TRACKERS` (ten trackers, their
partners, postback settings and URL templates), :data:`DEFAULT_FAULTS` (what is planted on
which tracker, and its ground truth), and the reference data users and devices are drawn from.
``engine.py`` turns it into rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "DEFAULT_FAULTS",
    "TRACKERS",
    "At",
    "Bursts",
    "Fault",
    "Hit",
    "Postback",
    "Response",
    "RetryPolicy",
    "Tracker",
]

TIMEZONE = "Europe/Moscow"
"""The application's time zone: ``*_datetime`` fields are wall-clock times here (UTC+3)."""
APPLICATION_ID = "4287301"
PACKAGES = {"android": "ru.shopnik.app", "ios": "ru.shopnik.ios", "windows": "ShopnikLLC.Shopnik"}
SENT_CODES = frozenset({200})
"""Codes the platform counts as sent; anything else (204 included) is retried."""

CATEGORIES = (  # the failing outcome classes of docs/architecture.md
    "request_error",
    "partner_error",
    "network_error",
    "other_code",
    "soft_failure",
    "false_failure",
)
PATTERNS = ("persistent", "intermittent", "incident", "onset", "resolved")


# --------------------------------------------------------------------------- the vocabulary


@dataclass(frozen=True)
class RetryPolicy:
    """When the platform sends a failed postback again, and when it gives up."""

    interval_s: tuple[int, int] = (300, 600)
    """Seconds between two attempts, drawn uniformly (AppMetrica: every 5-10 minutes)."""
    give_up_after_s: int = 86_400
    """No attempt later than this after the first one (AppMetrica: 24 hours)."""
    max_attempts: int | None = 24
    """Attempts per postback at most; None for the full 24-hour schedule."""


@dataclass(frozen=True)
class At:
    """A moment of the simulated window: day ``int(fraction * days)``, at ``clock`` local time."""

    fraction: float
    clock: str  # "hh:mm" in the app's time zone

    def resolve(self, start: datetime, days: int) -> datetime:
        day = min(int(self.fraction * days), days - 1)
        hh, mm = (int(x) for x in self.clock.split(":"))
        return start + timedelta(days=day, hours=hh, minutes=mm)


@dataclass(frozen=True)
class Bursts:
    """Many short windows at random moments of the export (``per_day`` of them a day)."""

    per_day: float
    minutes: tuple[int, int]


@dataclass(frozen=True)
class Response:
    """A partner answer. ``code`` None is no answer; ``${name}`` in the body is filled per
    attempt (``click_id``, ``attempt_timestamp``, ``request_id``, ``number``, ``hex``,
    ``goal_value``)."""

    code: int | None
    body: str = ""
    weight: float = 1.0


@dataclass(frozen=True)
class Postback:
    """One postback setting of a tracker: a conversion type and its URL query template.

    ``rate`` is postbacks per attributed install: the probability of a one-time event, or the
    mean count of a repeatable one. Macros are ``{export_field}`` (and ``{revenue}``); an
    unknown macro is sent literally, URL-encoded, as the platform does.
    """

    cost_model: Literal["cpi", "cpa", "cpr"]
    query: str
    event_name: str = ""
    rate: float = 1.0
    repeatable: bool = False
    endpoint: str | None = None
    ok: Response | None = None


@dataclass(frozen=True)
class Tracker:
    """A tracker, its partner and its postback settings."""

    key: str
    tracking_id: str
    name: str
    publisher_id: str
    publisher_name: str
    weight: float
    os_mix: Mapping[str, float]
    endpoint: str
    postbacks: tuple[Postback, ...]
    ok: Response
    click_params: str
    click_id: Literal["hex32", "uuid", "digits"] = "hex32"
    impressions: float = 0.06


@dataclass(frozen=True)
class Hit:
    """Which postbacks (or attempts) a fault hits. Every condition given must hold."""

    where: Mapping[str, str] = field(default_factory=dict)
    """Conversion columns equal to these values."""
    share: float = 1.0
    """Share of the tracker's clicks, drawn once per click (all of a click's postbacks)."""
    repeat: bool = False
    """Only the second and later postbacks of the same event for the same click."""
    bursts: Bursts | None = None
    probability: float = 1.0
    """Within the fault's windows: the share of attempts that fail."""


@dataclass(frozen=True)
class Fault:
    """A planted fault and its ground truth.

    ``started``/``ended`` bound the fault in time: for a transient fault they bound attempts
    (an outage), for a deterministic one they bound when the postback was created (a setting
    that changed). ``columns``, ``click_params`` and ``params`` say what the hit postbacks look
    like: export columns, tracking-URL parameters (None drops one) and postback-URL parameters
    (a value is a template; ``{idfa}`` is an unknown macro and is sent literally).
    """

    id: str
    tracker: str
    description: str
    category: str
    pattern: Literal["persistent", "intermittent", "incident", "onset", "resolved"]
    retry_behavior: Literal["transient", "deterministic"]
    signature_contains: str
    responses: tuple[Response, ...]
    hit: Hit = field(default_factory=Hit)
    started: At | None = None
    ended: At | None = None
    segment: Mapping[str, str] | None = None
    parameter: Mapping[str, str] | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    click_params: Mapping[str, str | None] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    signatures: tuple[str, ...] = ()
    """Every message the fault produces, when there are several."""


# --------------------------------------------------------------------------- the scenario

_NGINX = (
    "<html>\r\n<head><title>{t}</title></head>\r\n<body>\r\n<center><h1>{t}</h1></center>\r\n"
    "<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n"
)
_MALFORMED = (
    '{"StoreId":"","AppId":"","Message":"malformed clickId","Status":400,"EvType":0,'
    '"IsAttributed":1}'
)
RELEASE_VERSION = "5.12.0"
RELEASE_AT = At(0.43, "11:00")
"""The app release after which one event's goal value is sent in a locale format."""
_OLD_TOKEN, _NEW_TOKEN = "3f1c9a7be2d4", "b85e04d7a19c"

TRACKERS: tuple[Tracker, ...] = (
    Tracker(
        key="healthy",
        tracking_id="4503599627370497",
        name="Осенняя кампания — Android",
        publisher_id="1270",
        publisher_name="Kvant Ads",
        weight=0.15,
        os_mix={"android": 0.72, "ios": 0.27, "windows": 0.01},
        endpoint="https://s2s.kvant-ads.example/postback",
        postbacks=(
            Postback(
                "cpi",
                "clickid={click_id}&goal=install&gaid={google_aid}&idfa={ios_ifa}"
                "&ts={conversion_timestamp}",
            ),
            Postback(
                "cpa",
                "clickid={click_id}&goal={event_name}&gaid={google_aid}&idfa={ios_ifa}"
                "&ts={conversion_timestamp}",
                "registration",
                0.45,
            ),
            Postback(
                "cpa",
                "clickid={click_id}&goal={event_name}&sum={revenue}&currency=RUB"
                "&ts={conversion_timestamp}",
                "purchase",
                0.35,
                repeatable=True,
            ),
            Postback("cpr", "clickid={click_id}&goal=reengagement&ts={conversion_timestamp}"),
        ),
        ok=Response(200, '{"status":"ok","conversion_id":${number}}'),
        click_params="click_id={click_id}&campaign_id={campaign}&site_id={site}"
        "&creative_id={creative}&google_aid=&ios_ifa=",
    ),
    Tracker(
        key="click-id",
        tracking_id="12345678901234567890",
        name="Аdvertising iOS campaign",  # the first letter is Cyrillic, as in the docs
        publisher_id="39",
        publisher_name="Adcolonix",
        weight=0.1,
        os_mix={"ios": 0.85, "android": 0.15},
        endpoint="https://postback.adcolonix.example/conv",
        postbacks=(
            Postback(
                "cpi",
                "click_id={click_id}&event=install&idfa={ios_ifa}&gaid={google_aid}"
                "&app={app_package_name}&token=c2d1f0a8",
            ),
            Postback(
                "cpa",
                "click_id={click_id}&event={event_name}&idfa={ios_ifa}&gaid={google_aid}"
                "&app={app_package_name}&token=c2d1f0a8",
                "purchase",
                0.3,
                repeatable=True,
            ),
        ),
        ok=Response(
            200,
            '{"StoreId":"","AppId":"","Message":"ok","Status":200,"EvType":0,"IsAttributed":1}',
        ),
        click_params="click_id={click_id}&c={campaign}&site_id={site}&creative_id={creative}"
        "&google_aid=&google_aid_sha1=&ios_ifa=&ios_ifa_sha1=&afpub_id=",
    ),
    Tracker(
        key="bursts",
        tracking_id="1152921504606846976",
        name="MobiReach — installs",
        publisher_id="2211",
        publisher_name="MobiReach",
        weight=0.16,
        os_mix={"android": 0.6, "ios": 0.4},
        endpoint="https://track.mobireach.example/pb",
        postbacks=(
            Postback("cpi", "cid={click_id}&type=install&device={appmetrica_device_id}"),
            Postback(
                "cpa",
                "cid={click_id}&type=event&name={event_name}&device={appmetrica_device_id}",
                "registration",
                0.5,
            ),
            Postback("cpr", "cid={click_id}&type=reengagement&device={appmetrica_device_id}"),
        ),
        ok=Response(200, "OK"),
        click_params="cid={click_id}&pub={site}&camp={campaign}&cr={creative}",
        click_id="uuid",
    ),
    Tracker(
        key="outage",
        tracking_id="987654321",
        name="Clickwave US",
        publisher_id="3105",
        publisher_name="Clickwave",
        weight=0.13,
        os_mix={"ios": 0.55, "android": 0.45},
        endpoint="https://cb.clickwave.example/v1/conversion",
        postbacks=(
            Postback("cpi", "transaction_id={click_id}&goal=0&ifa={ios_ifa}&aid={google_aid}"),
            Postback(
                "cpa",
                "transaction_id={click_id}&goal=1&event={event_name}&ifa={ios_ifa}"
                "&aid={google_aid}",
                "registration",
                0.4,
            ),
        ),
        ok=Response(200, "1"),
        click_params="transaction_id={click_id}&aff_id={site}&offer_id={campaign}"
        "&aff_sub={creative}",
        click_id="digits",
    ),
    Tracker(
        key="onset",
        tracking_id="7340031",
        name="Покупки в приложении",
        publisher_id="30101",
        publisher_name="ТаргетПро",
        weight=0.09,
        os_mix={"android": 0.5, "ios": 0.5},
        endpoint="https://api.targetpro.example/postback",
        postbacks=(
            Postback("cpi", "click={click_id}&goal_id=1&os={os_name}"),
            Postback(
                "cpa",
                "click={click_id}&goal_id=2&goal_value={revenue}&currency=RUB&os={os_name}",
                "purchase",
                0.6,
                repeatable=True,
            ),
        ),
        ok=Response(200, '{"status":"accepted","txn":"${hex}"}'),
        click_params="click={click_id}&source={site}&campaign={campaign}&banner={creative}",
    ),
    Tracker(
        key="soft",
        tracking_id="2882303761517117440",
        name="Pixelnet iOS",
        publisher_id="4410",
        publisher_name="Pixelnet",
        weight=0.09,
        os_mix={"ios": 0.6, "android": 0.4},
        endpoint="https://in.pixelnet.example/s2s",
        postbacks=(
            Postback("cpi", "click_id={click_id}&action=install&ts={conversion_timestamp}"),
            Postback(
                "cpa",
                "click_id={click_id}&action={event_name}&ts={conversion_timestamp}",
                "registration",
                0.5,
            ),
        ),
        ok=Response(200, '{"status":"ok","message":"conversion recorded: ${click_id}"}'),
        click_params="click_id={click_id}&placement={site}&campaign={campaign}",
    ),
    Tracker(
        key="duplicates",
        tracking_id="562949953421312",
        name="Игровой трафик",
        publisher_id="5120",
        publisher_name="Adsolut",
        weight=0.07,
        os_mix={"android": 0.8, "ios": 0.2},
        endpoint="https://postback.adsolut.example/conv",
        postbacks=(
            Postback("cpi", "clickid={click_id}&event=install&adid={appmetrica_device_id}"),
            Postback(
                "cpa",
                "clickid={click_id}&event={event_name}&adid={appmetrica_device_id}",
                "level_up",
                0.8,
                repeatable=True,
            ),
            Postback(
                "cpa",
                "clickid={click_id}&event={event_name}&adid={appmetrica_device_id}",
                "purchase",
                0.1,
            ),
        ),
        ok=Response(200, "success=true; conversion_id=${number}"),
        click_params="clickid={click_id}&sub1={site}&sub2={campaign}&sub3={creative}",
        click_id="digits",
    ),
    Tracker(
        key="token",
        tracking_id="81064793292668928",
        name="AppBoost CPA",
        publisher_id="6006",
        publisher_name="AppBoost Network",
        weight=0.08,
        os_mix={"android": 0.65, "ios": 0.35},
        endpoint="https://postback.appboost.example/acquisition",
        postbacks=(
            Postback("cpi", f"click_id={{click_id}}&goal_name=install&security_token={_NEW_TOKEN}"),
            Postback(
                "cpa",
                f"click_id={{click_id}}&goal_name={{event_name}}&security_token={_NEW_TOKEN}",
                "registration",
                0.5,
            ),
        ),
        ok=Response(200, "SUCCESS"),
        click_params="click_id={click_id}&sub_id={site}&campaign_id={campaign}",
    ),
    Tracker(
        key="macro",
        tracking_id="3377699720527872",
        name="Сеть Ромашка — iOS и Android",
        publisher_id="7077",
        publisher_name="Сеть Ромашка",
        weight=0.08,
        os_mix={"android": 0.68, "ios": 0.32},
        endpoint="https://romashka-ads.example/api/conversion",
        postbacks=(
            Postback(
                "cpi",
                "click_id={click_id}&event=install&idfa={ios_ifa}&gaid={google_aid}"
                "&ts={conversion_timestamp}",
            ),
            Postback(
                "cpa",
                "click_id={click_id}&event={event_name}&idfa={ios_ifa}&gaid={google_aid}"
                "&ts={conversion_timestamp}",
                "registration",
                0.4,
            ),
        ),
        ok=Response(200, '{"success":true,"request_id":"${request_id}"}'),
        click_params="click_id={click_id}&utm_source=romashka&utm_campaign={campaign}"
        "&utm_content={creative}",
        click_id="uuid",
    ),
    Tracker(
        key="no-content",
        tracking_id="55555",
        name="Lumen S2S",
        publisher_id="8123",
        publisher_name="Lumen Media",
        weight=0.05,
        os_mix={"android": 0.7, "ios": 0.22, "windows": 0.08},
        endpoint="https://s2s.lumen.example/install",
        postbacks=(
            Postback("cpi", "clk={click_id}&os={os_name}"),
            Postback(
                "cpa",
                "clk={click_id}&ev={event_name}&os={os_name}",
                "registration",
                0.3,
                endpoint="https://s2s.lumen.example/event",
            ),
        ),
        ok=Response(200, "OK"),
        click_params="clk={click_id}&src={site}&cmp={campaign}",
    ),
)

# To plant another fault, add a Fault naming a tracker's key: ``hit`` says which postbacks (or
# attempts) it hits, ``columns``/``click_params``/``params`` what they look like, ``responses``
# what the partner answers; the rest is its ground truth. One fault per tracker keeps the truth
# unambiguous.
DEFAULT_FAULTS: tuple[Fault, ...] = (
    Fault(
        id="malformed-click-id",
        tracker="click-id",
        description="One placement's tracking link does not pass the click ID: its postbacks "
        "carry an empty click_id= and the partner rejects them as a malformed clickId.",
        category="request_error",
        pattern="persistent",
        retry_behavior="deterministic",
        signature_contains="malformed clickId",
        responses=(Response(400, _MALFORMED),),
        hit=Hit(share=0.15),
        parameter={"name": "click_id", "problem": "empty"},
        columns={"click_id": ""},
        click_params={"click_id": None, "site_id": "mediation_17"},
    ),
    Fault(
        id="partner-5xx-bursts",
        tracker="bursts",
        description="The partner's proxy answers 502/503 in many short bursts; the retries "
        "after a burst go through.",
        category="partner_error",
        pattern="intermittent",
        retry_behavior="transient",
        signature_contains="Bad Gateway",
        signatures=("502 Bad Gateway", "503 Service Temporarily Unavailable"),
        responses=(
            Response(502, _NGINX.format(t="502 Bad Gateway"), 0.75),
            Response(503, _NGINX.format(t="503 Service Temporarily Unavailable"), 0.25),
        ),
        hit=Hit(bursts=Bursts(per_day=5, minutes=(5, 25)), probability=0.9),
    ),
    Fault(
        id="timeout-outage",
        tracker="outage",
        description="The partner's server does not answer for two hours and twenty minutes: no "
        "response code, no body; retries after the outage go through.",
        category="network_error",
        pattern="incident",
        retry_behavior="transient",
        signature_contains="(no answer)",
        responses=(Response(None, ""),),
        started=At(0.6, "18:50"),
        ended=At(0.6, "21:10"),
    ),
    Fault(
        id="goal-value-after-release",
        tracker="onset",
        description=f"App {RELEASE_VERSION} sends the purchase revenue with a decimal comma "
        "(goal_value=149%2C00); the partner rejects those purchases as INVALID_GOAL_VALUE.",
        category="request_error",
        pattern="onset",
        retry_behavior="deterministic",
        signature_contains="INVALID_GOAL_VALUE",
        responses=(
            Response(
                400,
                '{"status":"rejected","code":"INVALID_GOAL_VALUE",'
                '"goal_value":"${goal_value}","txn":"${hex}"}',
            ),
        ),
        hit=Hit(where={"app_version_name": RELEASE_VERSION, "event_name": "purchase"}),
        started=RELEASE_AT,
        segment={"column": "app_version_name", "value": RELEASE_VERSION},
        parameter={"name": "goal_value", "problem": "malformed"},
        params={"goal_value": "{revenue_comma}"},
    ),
    Fault(
        id="soft-failure-click-not-found",
        tracker="soft",
        description="The partner answers 200 with an error in the body for clicks it does not "
        "know; the platform counts them as sent.",
        category="soft_failure",
        pattern="persistent",
        retry_behavior="deterministic",
        signature_contains="click not found",
        responses=(Response(200, '{"status":"error","message":"click not found: ${click_id}"}'),),
        hit=Hit(share=0.12),
    ),
    Fault(
        id="duplicate-click-id",
        tracker="duplicates",
        description="level_up is sent once per level, but the partner accepts one conversion "
        "per click and goal: every later level_up is rejected as a duplicate.",
        category="request_error",
        pattern="persistent",
        retry_behavior="deterministic",
        signature_contains="DUPLICATE_CLICK_ID",
        responses=(
            Response(
                409,
                "success=false; err_msg=DUPLICATE_CLICK_ID; click_id=${click_id}; "
                "ts=${attempt_timestamp}",
            ),
        ),
        hit=Hit(where={"event_name": "level_up"}, repeat=True),
        segment={"column": "event_name", "value": "level_up"},
    ),
    Fault(
        id="token-rotated",
        tracker="token",
        description="The partner rotated its security token; postbacks created before the "
        "tracker was updated carry the old token and are refused until they give up.",
        category="request_error",
        pattern="resolved",
        retry_behavior="deterministic",
        signature_contains="INVALID_SECURITY_TOKENS",
        responses=(Response(403, "INVALID_SECURITY_TOKENS"),),
        ended=At(0.2, "15:20"),
        parameter={"name": "security_token", "problem": "changed"},
        params={"security_token": _OLD_TOKEN},
    ),
    Fault(
        id="ios-idfa-macro",
        tracker="macro",
        description="The iOS postback URL uses {idfa}, which is not an AppMetrica macro: it is "
        "sent literally (idfa=%7Bidfa%7D) and the partner finds no device ID.",
        category="request_error",
        pattern="persistent",
        retry_behavior="deterministic",
        signature_contains="Invalid device id",
        responses=(
            Response(
                400,
                '{"error":{"code":400,"message":"Invalid device id","request_id":"${request_id}"}}',
            ),
        ),
        hit=Hit(where={"os_name": "ios"}),
        segment={"column": "os_name", "value": "ios"},
        parameter={"name": "idfa", "problem": "macro"},
        params={"idfa": "{idfa}"},
    ),
    Fault(
        id="no-content-204",
        tracker="no-content",
        description="The partner's event endpoint answers 204 No Content for success; the "
        "platform counts it as failed and sends the same postback again and again.",
        category="false_failure",
        pattern="persistent",
        retry_behavior="deterministic",
        signature_contains="(empty body)",
        responses=(Response(204, ""),),
        hit=Hit(where={"cost_model": "cpa"}),
        segment={"column": "cost_model", "value": "cpa"},
    ),
)

# --------------------------------------------------------------------------- device reference

# (manufacturer, model, model code for the user agent, device type, weight)
DEVICES: dict[str, tuple[tuple[str, str, str, str, float], ...]] = {
    "android": (
        ("Samsung", "Galaxy A54 5G", "SM-A546B", "phone", 9),
        ("Samsung", "Galaxy A15", "SM-A155F", "phone", 7),
        ("Samsung", "Galaxy S24", "SM-S921B", "phone", 4),
        ("Samsung", "Galaxy Tab A9+", "SM-X216B", "tablet", 2),
        ("Xiaomi", "Redmi Note 13 Pro", "23117RA68G", "phone", 9),
        ("Xiaomi", "Redmi 13C", "23100RN82L", "phone", 8),
        ("Xiaomi", "POCO X6 Pro 5G", "23122PCD1G", "phone", 4),
        ("HONOR", "X8b", "LLY-LX1", "phone", 5),
        ("HUAWEI", "nova 11i", "MAO-LX9", "phone", 3),
        ("realme", "C67", "RMX3890", "phone", 4),
        ("TECNO", "SPARK 20 Pro", "TECNO KJ6", "phone", 3),
        ("Google", "Pixel 8a", "Pixel 8a", "phone", 1),
        ("OnePlus", "Nord CE4 Lite 5G", "CPH2619", "phone", 1),
    ),
    "ios": (
        ("Apple", "iPhone 11", "iPhone", "phone", 6),
        ("Apple", "iPhone 13", "iPhone", "phone", 9),
        ("Apple", "iPhone 14 Pro", "iPhone", "phone", 6),
        ("Apple", "iPhone 15", "iPhone", "phone", 8),
        ("Apple", "iPhone 16 Pro Max", "iPhone", "phone", 5),
        ("Apple", "iPhone 17", "iPhone", "phone", 3),
        ("Apple", "iPhone SE (3rd generation)", "iPhone", "phone", 2),
        ("Apple", "iPad Air (5th generation)", "iPad", "tablet", 2),
    ),
    "windows": (
        ("Microsoft Corporation", "Surface Pro 9", "", "tablet", 2),
        ("LENOVO", "ThinkPad E14 Gen 5", "", "unknown", 3),
        ("HP", "HP Laptop 15s-eq2xxx", "", "unknown", 3),
        ("ASUSTeK COMPUTER INC.", "VivoBook_ASUSLaptop X515EA", "", "unknown", 2),
    ),
}
OS_VERSIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "android": (("11", 1), ("12", 2), ("13", 4), ("14", 6), ("15", 5), ("16", 2)),
    "ios": (("17.7.2", 1), ("18.6.2", 3), ("26.1", 3), ("26.4.1", 4), ("27.1", 2)),
    "windows": (("10.0.19045", 2), ("10.0.22631", 3), ("10.0.26100", 2)),
}
APP_VERSIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "android": (("5.10.3", 1.2), ("5.11.0", 1.8), ("5.11.2", 7)),
    "ios": (("5.10.3", 1), ("5.11.0", 1.5), ("5.11.2", 7.5)),
    "windows": (("1.8.4", 1), ("1.9.0", 3)),
}
LOCALES = (
    ("ru_RU", 70),
    ("en_US", 7),
    ("kk_KZ", 5),
    ("uz_UZ", 4),
    ("be_BY", 3),
    ("hy_AM", 2),
    ("tr_TR", 2),
    ("en_GB", 2),
    ("de_DE", 2),
    ("ky_KG", 2),
    ("az_AZ", 1),
)
IPV4_FIRST = (5, 31, 37, 46, 77, 78, 79, 85, 87, 89, 91, 92, 93, 94, 95, 176, 178, 188, 212, 217)
IPV6_PREFIXES = ("2a00:1fa0", "2a00:1fa1", "2a02:2168", "2a03:d000", "2a00:f940", "2a01:540")
CHROME_VERSIONS = ("139.0.7258.158", "140.0.7339.207", "141.0.7390.122", "142.0.7444.59")
EVENT_DELAY_S = {"registration": 1_800, "level_up": 40_000, "purchase": 150_000}
"""Mean time from the install to each event, in seconds (exponentially distributed)."""
PRICES = (99, 149, 199, 299, 399, 499, 990, 1490, 2990)
# share of the day's installs per local hour, 0 to 23
# fmt: off
DIURNAL = (3, 2, 1.2, 0.8, 0.7, 0.9, 1.8, 3, 4, 4.5, 4.8, 5,
           5.2, 5.2, 5, 5, 5.3, 5.7, 6.3, 7, 7.4, 7, 5.8, 4.4)
# fmt: on
