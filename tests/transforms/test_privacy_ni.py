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


# --- person keys: HMAC-SHA256 in DuckDB equals Python's hmac -------------------------------
KEYS = [bytes(range(32)), bytes(range(64)), bytes(range(65)), b"k" * 100]


def _stdlib(messages, key):
    import hmac

    return [None if m is None else hmac.digest(key, m.encode(), "sha256").hex() for m in messages]


def test_hmac_known_value_and_key_lengths():
    import pyarrow as pa

    from transforms.privacy import hmac_sha256_hex

    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    got = hmac_sha256_hex(pa.array(["what do ya want for nothing?"]), b"Jefe").to_pylist()
    assert got == ["5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"]
    messages = ["AB123456C", None, "", "é✓ 日本", "x" * 300]
    for key in KEYS:  # shorter than, equal to and longer than SHA-256's 64-byte block
        assert hmac_sha256_hex(pa.array(messages), key).to_pylist() == _stdlib(messages, key)
    assert hmac_sha256_hex(pa.array([], pa.string()), KEYS[0]).to_pylist() == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=30), st.sampled_from(KEYS))
def test_hmac_equals_python_hmac(messages, key):
    import pyarrow as pa

    from transforms.privacy import hmac_sha256_hex

    messages = [
        m.encode("utf-8", "surrogatepass").decode("utf-8", "replace") if m else m for m in messages
    ]
    assert hmac_sha256_hex(pa.array(messages, pa.string()), key).to_pylist() == _stdlib(
        messages, key
    )


def test_person_keys_hash_the_normalised_number():
    import pandas as pd

    from transforms.privacy import person_keys

    key = KEYS[0]
    sent = pd.Series(["ab 12 34 56 c", "AB123456C", "QQ123456C", None, "AB-12-34-56-C", "x"])
    keys, valid = person_keys(sent, key)
    (same,) = _stdlib(["AB123456C"], key)
    assert [None if pd.isna(k) else k for k in keys] == [same, same, None, None, same, None]
    assert valid.tolist() == [True, True, False, False, True, False]


def test_person_keys_reuse_recent_keys_only_under_the_same_secret(monkeypatch):
    """A second file with two numbers seen before and one new: only the new one is hashed, and
    every key is the stdlib HMAC; under another secret nothing is reused."""
    import pandas as pd

    import transforms.privacy as privacy

    hashed: list[list[str]] = []
    real = privacy.hmac_sha256_hex

    def spy(messages, key):
        hashed.append(messages.to_pylist())
        return real(messages, key)

    monkeypatch.setattr(privacy, "hmac_sha256_hex", spy)
    monkeypatch.setattr(privacy, "_RECENT", [])
    first = pd.Series(["AB123456C", "CE654321A", "bad"])
    second = pd.Series(["ce 65 43 21 a", "JK111111D", "AB123456C", None])
    privacy.person_keys(first, KEYS[0])
    keys, valid = privacy.person_keys(second, KEYS[0])
    assert hashed == [["AB123456C", "CE654321A"], ["JK111111D"]]
    want = _stdlib(["CE654321A", "JK111111D", "AB123456C"], KEYS[0])
    assert keys.tolist()[:3] == want and pd.isna(keys.iloc[3])
    assert valid.tolist() == [True, True, True, False]
    other, _ = privacy.person_keys(second, KEYS[1])
    assert hashed[-1] == ["CE654321A", "JK111111D", "AB123456C"]
    assert other.tolist()[:3] == _stdlib(["CE654321A", "JK111111D", "AB123456C"], KEYS[1])


def test_hmac_from_several_threads():
    """One in-memory DuckDB per process, a cursor per call: threads do not collide."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    from transforms.privacy import hmac_sha256_hex

    key = KEYS[0]
    batches = [[f"AB{i:06d}{'ABCD'[j % 4]}" for i in range(j, j + 500)] for j in range(40)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda b: hmac_sha256_hex(pa.array(b), key).to_pylist(), batches))
    assert got == [_stdlib(b, key) for b in batches]


def test_person_keys_of_a_column_in_several_chunks():
    """A text column read in several Arrow blocks (a CSV over 16 MB) is hashed as one."""
    import pandas as pd

    from transforms.privacy import person_keys

    sent = pd.concat(
        [pd.Series(["AB123456C", "bad"], dtype="str"), pd.Series(["CE654321A"], dtype="str")],
        ignore_index=True,
    )
    keys, valid = person_keys(sent, KEYS[2])
    assert keys.iloc[0] == _stdlib(["AB123456C"], KEYS[2])[0]
    assert keys.iloc[2] == _stdlib(["CE654321A"], KEYS[2])[0]
    assert pd.isna(keys.iloc[1]) and valid.tolist() == [True, False, True]
