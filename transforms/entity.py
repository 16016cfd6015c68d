"""Supplier entity resolution: which raw supplier names (with postcode, VAT and Companies House
numbers where sent) are the same firm.

Measured on a million synthetic supplier records (DESIGN.md §8, issue 3): exact matching after
name normalisation was precise (0.998) but missed variants (recall 0.91); fuzzy matching on the
name alone fell to precision 0.69, because big supplier lists hold many different firms with
near-identical names. So names are joined by evidence, in this order, on *distinct* records
rather than payment lines:

1. **Registration numbers**: the same Companies House number (digits, zero-padded to 8) or the
   same VAT number (9 digits) is the same firm, whatever the names say.
2. **Normalised name**: the same :func:`transforms.resolve.supplier_key` (case, punctuation,
   Ltd/Limited, PLC, &/and, The, trading-as, trailing place) is the same firm.
3. **Fuzzy name backed by place**: within a block of records sharing a postcode, names whose
   keys score at least ``FUZZY_MIN`` with rapidfuzz's ``ratio`` are the same firm (typos such
   as "Computacentre" for "Computacenter"). Without a shared postcode, fuzzy similarity alone
   never merges.

A merge is refused when it would put two different registration numbers of the same kind in one
cluster (a cannot-link: "Northgate Solutions Ltd" 01234567 and "Northgate Systems Ltd"
07654321 stay apart even at one address).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz, process

from transforms.resolve import supplier_key

FUZZY_MIN = 90.0
_DIGITS = re.compile(r"\D+")
_POSTCODE = re.compile(r"[^A-Z0-9]")


def company_number_key(text: object) -> str | None:
    """Companies House number as 8 characters: ``1234567`` -> ``01234567``; ``SC123456`` kept;
    blanks and junk -> None."""
    if not isinstance(text, str) or not text.strip():
        return None
    s = re.sub(r"\s+", "", text).upper()
    if s.isdigit():
        return s.zfill(8) if 1 <= len(s) <= 8 else None
    return s if re.fullmatch(r"[A-Z]{2}\d{6}", s) else None


def vat_key(text: object) -> str | None:
    """UK VAT registration number as its 9 digits (``GB 123 4567 89`` -> ``123456789``)."""
    if not isinstance(text, str):
        return None
    digits = _DIGITS.sub("", text)
    return digits if len(digits) == 9 else None


def postcode_key(text: object) -> str | None:
    """Postcode without spaces, upper case (``ec1v 0hb`` -> ``EC1V0HB``); None if blank."""
    if not isinstance(text, str):
        return None
    s = _POSTCODE.sub("", text.upper())
    return s or None


class _Clusters:
    """Union-find over record indexes with cannot-link sets of registration numbers."""

    def __init__(self, n: int, companies: list[str | None], vats: list[str | None]):
        self.parent = list(range(n))
        self.companies = [{c} if c else set() for c in companies]
        self.vats = [{v} if v else set() for v in vats]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        for sets in (self.companies, self.vats):
            if sets[ra] and sets[rb] and not (sets[ra] & sets[rb]):
                return False  # two different registration numbers: different firms
        self.parent[rb] = ra
        self.companies[ra] |= self.companies[rb]
        self.vats[ra] |= self.vats[rb]
        return True


@dataclass(frozen=True)
class _Group:
    indexes: list[int]


def _union_groups(clusters: _Clusters, groups: Iterable[list[int]]) -> None:
    for members in groups:
        first = members[0]
        for other in members[1:]:
            clusters.union(first, other)


STRATEGIES = ("evidence", "exact", "fuzzy_name")


def resolve_suppliers(
    records: pd.DataFrame, strategy: str = "evidence", reference_dir: Path | None = None
) -> pd.DataFrame:
    """Assign a supplier id to each distinct supplier record.

    Args:
        records: one row per distinct record, columns ``supplier_name`` (str),
            ``supplier_postcode``, ``vat_number``, ``company_number`` (str or None). Redacted
            payees and blank names should be left out by the caller.
        strategy: ``evidence`` (the method described in the module docstring, used by the
            marts), or one of the candidates it was measured against by ``ngss evaluate``:
            ``exact`` (normalised name only) and ``fuzzy_name`` (normalised name, then rapidfuzz
            on names alone within blocks sharing the first word, no registration numbers).
        reference_dir: the reference folder for :func:`supplier_key` (default the project's).

    Returns:
        The same rows (same order) with ``supplier_key`` (normalised name), ``supplier_id``
        (str: ``ch:<number>``, ``vat:<number>`` or ``name:<key>`` of the cluster's strongest
        identifier, so ids are stable across runs) and ``match_method`` (``registration``,
        ``name``, ``fuzzy+postcode`` or ``single``: the strongest evidence that joined the
        record to others).
    """
    out = records.reset_index(drop=True).copy()
    n = len(out)
    keys = [
        supplier_key(x, reference_dir) if isinstance(x, str) else "" for x in out["supplier_name"]
    ]
    companies = [company_number_key(x) for x in out.get("company_number", pd.Series([None] * n))]
    vats = [vat_key(x) for x in out.get("vat_number", pd.Series([None] * n))]
    postcodes = [postcode_key(x) for x in out.get("supplier_postcode", pd.Series([None] * n))]
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {STRATEGIES}")
    if strategy != "evidence":  # the candidates ignore registration numbers and postcodes
        companies, vats = [None] * n, [None] * n
        postcodes = [k.split(" ")[0] if (k and strategy == "fuzzy_name") else None for k in keys]
    clusters = _Clusters(n, companies, vats)
    method = ["single"] * n

    def groups_by(values: list[str | None]) -> list[list[int]]:
        by: dict[str, list[int]] = {}
        for i, v in enumerate(values):
            if v:
                by.setdefault(v, []).append(i)
        return [m for m in by.values() if len(m) > 1]

    for members in groups_by(companies) + groups_by(vats):
        _union_groups(clusters, [members])
        for i in members:
            method[i] = "registration"
    for members in groups_by(keys):
        _union_groups(clusters, [members])
        for i in members:
            if method[i] == "single":
                method[i] = "name"
    # Fuzzy within postcode blocks (fuzzy_name: first-word blocks), on distinct keys only.
    by_postcode: dict[str, dict[str, list[int]]] = {}
    for i, (pc, key) in enumerate(zip(postcodes, keys, strict=True)):
        if pc and key:
            by_postcode.setdefault(pc, {}).setdefault(key, []).append(i)
    for block in by_postcode.values() if strategy != "exact" else ():
        if len(block) < 2:
            continue
        names = list(block)
        scores = process.cdist(names, names, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN)
        for a in range(len(names)):
            for b in range(a + 1, len(names)):
                if scores[a][b] >= FUZZY_MIN and clusters.union(
                    block[names[a]][0], block[names[b]][0]
                ):
                    for i in block[names[a]] + block[names[b]]:
                        if method[i] in ("single", "name"):
                            method[i] = "fuzzy+postcode"
    # A stable id per cluster: its smallest registration number, else its smallest key.
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(clusters.find(i), []).append(i)
    ids = [""] * n
    for root, idx in members.items():
        if clusters.companies[root]:
            cid = "ch:" + min(clusters.companies[root])
        elif clusters.vats[root]:
            cid = "vat:" + min(clusters.vats[root])
        else:
            cid = "name:" + min(keys[i] for i in idx)
        for i in idx:
            ids[i] = cid
    out["supplier_key"] = keys
    out["supplier_id"] = ids
    out["match_method"] = method
    return out
