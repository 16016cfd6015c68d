"""NI number normalisation (HMRC format, National Insurance Manual NIM39110): the column
version in Arrow compute (normalise_ni_many) equals normalise_ni value by value, and known
numbers come out as HMRC writes them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.privacy import normalise_ni, normalise_ni_many

# letters allowed and not, digits (ASCII and Arabic-Indic, which Python's \d accepts), every
# kind of space Python's \s accepts (ASCII separators 0x1C-0x1F, NBSP, em space), hyphens
ALPHABET = list("ABCDEGHJKLMNPRSTWXYZQOIFUVbgkntz0123456789 -\t\x1c\x1f\u00a0\u2003\u0663\n")


def test_known_numbers():
    got = normalise_ni_many(
        ["AB 12 34 56 C", "ab-123456-c", "QQ123456C", "GB123456A", "AB123456E", None, "", 7]
    )
    assert got == ["AB123456C", "AB123456C", None, None, None, None, None, None]


@settings(max_examples=2000, deadline=None, database=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(ALPHABET, max_size=12),
            st.sampled_from(["AB123456C", "ab 12 34 56 c", "NT123456A", "AB\u0663\u0662 3456C"]),
        ),
        max_size=10,
    )
)
def test_column_version_equals_normalise_ni(values):
    assert normalise_ni_many(values) == [normalise_ni(v) for v in values]
