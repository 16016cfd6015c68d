"""The fast path of :func:`transforms.parse.parse_amounts` (one regular expression for the
common shapes of an amount) gives exactly what :func:`parse_amount_text` gives, for any text
built from the characters amounts are written with, in both conventions."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.parse import _amount_text, parse_amount_text, parse_amounts


def _values(series: pd.Series) -> list:
    """Series values with the missing marker (NaN in the ``str`` dtype) as None."""
    return [None if pd.isna(v) else v for v in series.tolist()]

ALPHABET = "0123456789.,£-+() CRDGBP\u00a0"
pieces = st.lists(
    st.one_of(
        st.sampled_from(["-", "£", "£-", "-£", ",", ".", "00", "0", " ", "CR", "(", ")"]),
        st.integers(0, 10**17).map(str),
        st.integers(0, 999).map(lambda n: f"{n:03d}"),
        st.text(ALPHABET, max_size=4),
    ),
    max_size=7,
).map("".join)


@settings(max_examples=3000, deadline=None, database=None)
@given(text=pieces, comma=st.booleans())
def test_fast_path_equals_the_parser(text: str, comma: bool) -> None:
    assert _amount_text(comma)(text) == parse_amount_text(text, comma), repr(text)


def test_known_values_through_the_series_function() -> None:
    raw = pd.Series(
        [
            "1234.56",
            "-£81,770.30",
            "25,202.11",
            "-0.00",
            "£-6.18",
            "0012.30",
            "1,23.45",
            None,
            "",
            "1" * 16 + ".00",
            "1" * 17 + ".00",
            "1,234,567,890,123.45",
            "(500.00)",
        ]
    )
    assert _values(parse_amounts(raw)) == [
        "1234.56",
        "-81770.30",
        "25202.11",
        "0.00",
        "-6.18",
        "12.30",
        None,
        None,
        None,
        "1" * 16 + ".00",
        None,
        "1234567890123.45",
        "-500.00",
    ]
    assert _values(parse_amounts(pd.Series(["1.234,56", "-£1.234.567,00", "1,234.56"]), True)) == [
        "1234.56",
        "-1234567.00",
        None,
    ]


@settings(max_examples=400, deadline=None, database=None)
@given(texts=st.lists(st.one_of(pieces, st.none()), max_size=12), comma=st.booleans())
def test_series_function_equals_the_parser_value_by_value(texts, comma: bool) -> None:
    """parse_amounts reads the common shapes in Arrow and the rest with the parser: together
    exactly parse_amount_text, position by position (None and blank give None)."""
    got = _values(parse_amounts(pd.Series(texts, dtype="string"), comma))
    assert got == [parse_amount_text(t, comma) for t in texts]
