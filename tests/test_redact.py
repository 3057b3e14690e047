from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from postback_kit.redact import Redactor, redact

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
IFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
DEVICE = "12345678901234567890"
UA = "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36"


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "appmetrica_device_id": [DEVICE, DEVICE, None],
            "google_aid": [GAID, GAID, None],
            "ios_ifa": [None, None, IFA],
            "click_ipv6": ["::ffff:5.255.232.147", "2a02:6b8::40c:6676:baff:fea6:53d8", None],
            "click_user_agent": [UA, UA, None],
            "click_id": ["f2ae4254de8844dda58b29cac2cf0e87", "abc", None],
            "postback_url": [
                f"https://p.example/c?click_id=f2ae4254de8844dda58b29cac2cf0e87&gaid={GAID}&ip=5.255.232.147",
                f"https://p.example/c?click_id=abc&device={DEVICE}&ua=Mozilla%2F5.0",
                f"https://p.example/c?idfa={IFA.lower()}&ts=12:30:45",
            ],
            "click_url_parameters": [f"click_id%3Dx%26google_aid%3D{GAID}%26c%3D1", None, None],
            "response_body": [
                f'{{"error":"device {GAID} blocked from 5.255.232.147"}}',
                "OK",
                "at 2026-11-02 12:30:45",
            ],
        }
    )


def test_identifiers_vanish_everywhere_but_evidence_stays() -> None:
    out = Redactor(key=b"k").frame(frame())
    text = out.write_csv()
    for secret in (
        GAID,
        IFA,
        IFA.lower(),
        DEVICE,
        "5.255.232.147",
        "2a02:6b8::40c",
        UA,
        "Mozilla%2F5.0",
    ):
        assert secret not in text, secret
    # what a partner needs is still there
    assert "click_id=f2ae4254de8844dda58b29cac2cf0e87" in out["postback_url"][0]
    assert out["click_id"].to_list() == frame()["click_id"].to_list()
    assert out["response_body"][2] == "at 2026-11-02 12:30:45"  # a time is not an IPv6
    assert "ts=12:30:45" in out["postback_url"][2]
    assert "%26c%3D1" in out["click_url_parameters"][0]


def test_tokens_are_stable_within_a_key_and_differ_across_keys() -> None:
    a, b = Redactor(key=b"one"), Redactor(key=b"two")
    out = a.frame(frame())
    assert out["google_aid"][0] == out["google_aid"][1] == a.token(GAID)
    assert a.token(GAID) in out["postback_url"][0]
    assert a.token(GAID) != b.token(GAID)
    assert "one" not in repr(a)


def test_nulls_stay_null_and_short_values_are_hidden() -> None:
    out = redact(pl.DataFrame({"google_aid": [None, "x"]}), key="k")
    assert out["google_aid"].to_list() == [None, "id:hidden"]


@given(st.text(max_size=200))
def test_never_raises_on_arbitrary_text(body: str) -> None:
    out = Redactor(key=b"k").frame(pl.DataFrame({"response_body": [body], "google_aid": [GAID]}))
    assert out.height == 1


def test_unresolved_macros_stay_as_evidence_and_extra_text_columns_are_searched() -> None:
    df = pl.DataFrame(
        {
            "google_aid": [GAID],
            "postback_url": [f"https://p.example/c?idfa=%7Bidfa%7D&gaid={GAID}&ip=(ip)"],
            "message": [f"device {GAID} blocked"],
        }
    )
    out = Redactor(key=b"k").frame(df, text_columns=["message"])
    assert "idfa=%7Bidfa%7D" in out["postback_url"][0] and "ip=(ip)" in out["postback_url"][0]
    assert GAID not in out.write_csv()
    assert out["message"][0] == f"device {Redactor(key=b'k').token(GAID)} blocked"
