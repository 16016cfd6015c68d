"""Personal data: National Insurance numbers become keyed hashes on read; names never enter.

The warehouse never stores a plain National Insurance number. ``person_key`` is
HMAC-SHA256(key, normalised NI number) in hex: the same person gets the same key in every body's
extract (so two payrolls can be matched, as the National Fraud Initiative does), but the key
cannot be turned back into the number without the secret.

The secret comes from, in order:

1. the environment variable ``NGSS_HMAC_KEY`` (hex, at least 32 bytes);
2. the Airflow connection ``ngss_hmac`` (its password, hex), looked up only inside a task;
3. the local key file ``$NGSS_HOME/secrets/hmac.key``, which ``ngss demo`` and ``ngss generate``
   create with a random key on first run (mode 0600; never committed, never logged).

Rotating the key: see README ("Rotating the person-key secret"). Every person_key changes, so
reload all payroll and employment partitions after a rotation.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from pathlib import Path
from typing import Any

import pandas as pd

from transforms.errors import NgssError
from transforms.settings import Settings

log = logging.getLogger(__name__)

ENV_KEY = "NGSS_HMAC_KEY"
AIRFLOW_CONN_ID = "ngss_hmac"
MIN_KEY_BYTES = 32

# HMRC National Insurance number format (HMRC National Insurance Manual NIM39110): two prefix
# letters, six digits, one suffix letter A-D. The first letter is not D, F, I, Q, U or V; the
# second is not D, F, I, O, Q, U or V; the prefixes BG, GB, KN, NK, NT, TN and ZZ are not issued.
NI_RE = re.compile(r"^(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")
_NI_SPACES = re.compile(r"[\s\u00a0-]+")


def normalise_ni(text: str | None) -> str | None:
    """The NI number in canonical form (upper case, spaces and hyphens removed), or ``None`` if
    it is not a valid number under :data:`NI_RE` (``"qq 12 34 56 c"`` -> None: QQ is not issued;
    ``"AB 12 34 56 C"`` -> ``"AB123456C"``)."""
    if text is None:
        return None
    s = _NI_SPACES.sub("", str(text)).upper()
    return s if NI_RE.match(s) else None


# normalise_ni in Arrow compute for ASCII text: Python's \s on ASCII is these characters
# (str.isspace, the separators 0x1C-0x1F included); RE2 has no lookahead, so the prefixes
# that are never issued are tested apart.
_ASCII_NI_SPACES = r"[\t\n\x0b\x0c\r\x1c-\x1f -]+"
_NI_SHAPE = r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$"
_NI_NOT_ISSUED = ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")


def normalise_ni_many(values: list) -> list[str | None]:
    """:func:`normalise_ni` of each value (``None`` or a non-string gives ``None``): ASCII
    texts in Arrow compute, any other text through :func:`normalise_ni`."""
    return _normalise_ni_arrow(values).to_pylist()


def _normalise_ni_arrow(values):
    """:func:`normalise_ni_many` as an Arrow string array (None where invalid); ``values`` a
    list or an Arrow string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.Array):
        texts = values.cast(pa.string())
        values = texts
    else:
        texts = pa.array([v if isinstance(v, str) else None for v in values], pa.string())
    if len(texts) == 0:
        return texts
    ascii_ = pc.fill_null(pc.string_is_ascii(texts), False)
    norm = pc.utf8_upper(pc.replace_substring_regex(texts, _ASCII_NI_SPACES, ""))
    ok = pc.and_(
        pc.match_substring_regex(norm, _NI_SHAPE),
        pc.invert(pc.is_in(pc.utf8_slice_codeunits(norm, 0, 2), pa.array(_NI_NOT_ISSUED))),
    )
    out = pc.if_else(pc.fill_null(ok, False), norm, pa.scalar(None, pa.string()))
    others = pc.indices_nonzero(pc.and_(pc.invert(ascii_), pc.is_valid(texts))).to_pylist()
    if others:
        fixed = out.to_pylist()
        for i in others:
            value = values[i]
            fixed[i] = normalise_ni(value.as_py() if isinstance(value, pa.Scalar) else value)
        out = pa.array(fixed, pa.string())
    return out


def mask_ni(text: str | None) -> str:
    """A form safe to show a data owner: letters kept, every digit replaced by ``#``
    (``"AB 12 34 56 C"`` -> ``"AB ## ## ## C"``). Shows what is wrong with a malformed number
    (a missing digit, a bad prefix) without revealing a real one."""
    return re.sub(r"\d", "#", str(text or ""))


def _from_airflow() -> str | None:
    try:
        from airflow.sdk import BaseHook  # only inside a running task

        return BaseHook.get_connection(AIRFLOW_CONN_ID).password or None
    except Exception:  # no Airflow, no such connection, not in a task
        return None


def key_path(settings: Settings) -> Path:
    """Where the local key file lives: ``$NGSS_HOME/secrets/hmac.key``."""
    return settings.home / "secrets" / "hmac.key"


def ensure_local_key(settings: Settings) -> Path:
    """Create the local key file with 32 random bytes (hex) unless it exists; mode 0600.

    Used by ``ngss demo`` and ``ngss generate`` on first run. Returns the file's path."""
    path = key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(MIN_KEY_BYTES))
        log.info("created a new person-key secret in %s", path.parent)
    return path


def load_key(settings: Settings) -> bytes:
    """The HMAC secret (see the module docstring for where it comes from).

    Raises:
        NgssError: when no key is configured, or the key is shorter than 32 bytes or not hex.
    """
    text = os.environ.get(ENV_KEY) or _from_airflow()
    where = ENV_KEY if os.environ.get(ENV_KEY) else f"Airflow connection {AIRFLOW_CONN_ID}"
    if not text:
        path = key_path(settings)
        if not path.exists():
            raise NgssError(
                f"no person-key secret: set {ENV_KEY}, add the Airflow connection "
                f"{AIRFLOW_CONN_ID}, or run `ngss demo` / `ngss generate` to create {path}"
            )
        text, where = path.read_text().strip(), str(path)
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise NgssError(f"the person-key secret from {where} is not hex") from None
    if len(key) < MIN_KEY_BYTES:
        raise NgssError(f"the person-key secret from {where} is shorter than {MIN_KEY_BYTES} bytes")
    return key


def person_keys(ni_numbers: pd.Series, key: bytes) -> tuple[pd.Series, pd.Series]:
    """Hash a column of NI numbers as sent.

    Each distinct text is normalised once (:func:`normalise_ni`) and each valid number hashed
    once (:func:`hmac_sha256_hex`), or taken from the keys of the last few calls in this
    process (:data:`RECENT_CALLS`: next month's extract of the same body holds mostly the same
    people); they are spread back to the rows in Arrow.

    Returns:
        ``(person_key, ni_valid)`` on ``ni_numbers``' index: a pandas ``str`` Series of the hex
        HMAC-SHA256 of each valid normalised number (missing where invalid or blank) and a
        boolean Series, True where the number is valid.
    """
    import pyarrow.compute as pc

    from transforms.parse import arrow_text, text_series

    encoded = pc.dictionary_encode(arrow_text(ni_numbers))
    hashed = _keys_of(_normalise_ni_arrow(encoded.dictionary), key)
    keys = text_series(pc.take(hashed, encoded.indices), ni_numbers.index)
    return keys, keys.notna().astype(bool)


#: How many earlier calls' keys :func:`person_keys` looks in before hashing (each holds one
#: file's distinct numbers and keys, in this process's memory only, never written).
RECENT_CALLS = 2
_RECENT: list[tuple[bytes, Any, Any]] = []


def _keys_of(numbers, key: bytes):
    """:func:`hmac_sha256_hex` of an Arrow array of normalised numbers (null stays null), each
    number found among the last :data:`RECENT_CALLS` calls' (under the same key) not hashed
    again."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ident = hashlib.sha256(b"ngss person keys\0" + key).digest()
    out = pa.nulls(len(numbers), pa.string())
    valid = pc.is_valid(numbers)
    todo = valid
    for known_ident, known_numbers, known_keys in reversed(_RECENT):  # the latest first
        if known_ident != ident or not len(known_numbers) or not pc.any(todo).as_py():
            continue
        # only the numbers still without a key are looked up (in the latest call, most are)
        where = pc.indices_nonzero(todo)
        at = pc.index_in(pc.take(numbers, where), value_set=known_numbers)
        out = pc.replace_with_mask(out, todo, pc.take(known_keys, at))
        todo = pc.and_(valid, pc.is_null(out))
    if pc.any(todo).as_py():
        fresh = hmac_sha256_hex(pc.filter(numbers, todo), key)
        out = pc.replace_with_mask(out, todo, fresh)
    _RECENT.append((ident, pc.filter(numbers, valid), pc.filter(out, valid)))
    del _RECENT[:-RECENT_CALLS]
    return out


_HMAC_SQL = "select sha256($outer || unhex(sha256($inner || encode(m)))) as h from _ngss_messages"
_HASHER: Any = None


def hmac_sha256_hex(messages, key: bytes):
    """HMAC-SHA256 (RFC 2104) under ``key`` of each message of an Arrow string array (UTF-8),
    as an Arrow array of lowercase hex; null stays null. The same values as
    ``hmac.digest(key, m.encode(), "sha256").hex()`` (tests/transforms/test_privacy_ni.py),
    computed by DuckDB's ``sha256`` over the whole column, H((K xor opad) || H((K xor ipad) ||
    m)) with the key zero-padded to SHA-256's 64-byte block (hashed first when longer): two to
    three times faster than a Python loop over ``hmac.digest``. The database is private to
    the process, in memory, on one thread (staging workers share the cores), with a cursor per
    call so that threads may call it; the key is a query parameter, never logged or written."""
    global _HASHER
    import duckdb
    import pyarrow as pa

    if len(messages) == 0:
        return pa.array([], pa.string())
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    params = {
        "inner": bytes(b ^ 0x36 for b in block),
        "outer": bytes(b ^ 0x5C for b in block),
    }
    if _HASHER is None:
        _HASHER = duckdb.connect(config={"threads": 1})
    # a cursor per call: a connection of its own on the same in-memory database, so callers
    # on several threads do not share one (DuckDB refuses a connection busy with another call)
    with _HASHER.cursor() as con:
        con.register("_ngss_messages", pa.table({"m": messages}))
        out = con.sql(_HMAC_SQL, params=params).to_arrow_table()
    return out.column("h").combine_chunks()
