"""Great Expectations Data Docs for every validation run, built into the review site.

Each load's suites (``file``, then the domain's row suite) are run by Great Expectations in
:mod:`expectations.validate`, and GX's own result document is published with the load into
``ops.validation_run``. This module hands those documents back to GX: it creates a throw-away
GX file context, stores every document in its validation results store under the identifier
``(suite, run_name="load-<load_id>", run_time=validated_at, batch_identifier=load_id)``, and has GX's
site builder render the Data Docs into ``<site>/gx/``::

    gx/index.html                                                  GX's own index of the runs
    gx/validations/<suite path>/load-<load_id>/<run time>/<load_id>.html  one page per suite run

GX's templates load Bootstrap, jQuery, Font Awesome and Vega from public CDNs and a logo from
GX's web-assets bucket carrying the context id. The review site is opened as files on
government desktops and must load nothing from outside, so after the build every reference to
an outside script, stylesheet or image (CSS backgrounds included) is removed (the pages keep GX's bundled local
stylesheet; collapsed sections show open) and GX's random element ids are renumbered per page,
so two builds from the same warehouse give the same bytes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

log = logging.getLogger(__name__)

#: Folder of the Data Docs inside the review site.
GX_DIR = "gx"

_OUTSIDE_TAG = re.compile(
    r"<script\b[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>"
    r"|<link\b[^>]*\bhref=\"https?://[^\"]*\"[^>]*>"
    r"|<img\b[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>",
    re.IGNORECASE,
)
_OUTSIDE_URL = re.compile(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)", re.IGNORECASE)
_STATIC_REF = re.compile(r"(?<=\")(?:\.\./)*static/")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_OUTSIDE_REF = re.compile(r"(?:src|href)=\"https?://", re.IGNORECASE)


#: Stand-ins for the Bootstrap and Font Awesome rules GX's pages rely on (removed with the CDN
#: links): tables with borders, the dark header bar of the rest of the site, and each
#: expectation's status icon spelt out ("passed" / "failed").
OFFLINE_CSS = """<style>/* ngss: offline stand-ins for GX's CDN stylesheets */
body{font-family:system-ui,"Segoe UI",Arial,sans-serif;color:#0b0c0c;margin:0;line-height:1.4}
.navbar{background:#0b0c0c;color:#fff;padding:.6rem 1rem;margin:0 0 1rem}
.navbar a{color:#fff}.navbar ol{list-style:none;display:flex;gap:.5rem;margin:0;padding:0}
.container-fluid{padding:0 1.5rem}
.table,.table-bordered{border-collapse:collapse;margin:.4rem 0}
.table td,.table th,.table-bordered td,.table-bordered th{border:1px solid #b1b4b6;
padding:.2rem .5rem;text-align:left;vertical-align:top}
.alert{background:#f3f2f1;border-left:4px solid #b1b4b6;padding:.4rem .6rem}
.badge{background:#505a5f;color:#fff;border-radius:3px;padding:0 .3rem}
.text-success{color:#00703c}.text-danger{color:#d4351c}
.fas{font-style:normal;font-weight:bold;white-space:nowrap}
.fa-check-circle::before{content:"\\2714 passed"}.fa-times::before{content:"\\2718 failed"}
.d-none{display:none}footer{position:static!important}
</style>
"""


@dataclass(frozen=True)
class DataDocsPage:
    """One suite run's Data Docs page: ``path`` is relative to the site root (POSIX)."""

    load_id: str
    suite_name: str
    success: bool
    path: str


def build_data_docs(con: duckdb.DuckDBPyConnection, site: Path) -> dict[str, list[DataDocsPage]]:
    """Render GX Data Docs for every row of ``ops.validation_run`` into ``site/gx``.

    Args:
        con: a reader on the warehouse.
        site: the review site's root folder being written.

    Returns:
        ``{load_id: [DataDocsPage, ...]}`` in suite run order (file suite first); loads with no
        validation run (rejected before GX ran) are absent. Empty, and nothing written, when the
        warehouse holds no validation run.

    A page GX fails to render (GX logs the error and goes on) is logged here and left without
    a link.

    Raises:
        great_expectations exceptions: a stored document GX cannot read back (a defect).
    """
    rows = con.execute(
        "select v.load_id, v.suite_name, v.success, v.validated_at, v.result_json, "
        "       (select any_value(l.source_id) from ops.load_log l where l.load_id = v.load_id) "
        "from ops.validation_run v "
        "order by v.load_id, case when v.suite_name = 'file' then 0 else 1 end, v.suite_name"
    ).fetchall()
    if not rows:
        return {}
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    out = (site / GX_DIR).resolve()
    schema = ExpectationSuiteValidationResultSchema()
    pages: dict[str, list[DataDocsPage]] = {}
    with tempfile.TemporaryDirectory(prefix="ngss-gx-") as project:
        ctx = gx.get_context(mode="file", project_root_dir=project)
        for name in list(ctx.get_config().data_docs_sites or {}):
            ctx.delete_data_docs_site(name)
        ctx.add_data_docs_site(
            "ngss",
            {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(out),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        ids = []
        for load_id, suite_name, success, validated_at, result_json, source_id in rows:
            run_time = _utc(validated_at)
            # "load-<id>": GX parses a run name as a date, and a load id of digits overflows it
            run_name = f"load-{load_id}"
            run_id = RunIdentifier(run_name=run_name, run_time=run_time)
            identifier = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
                run_id=run_id,
                batch_identifier=load_id,
            )
            document = json.loads(result_json)
            # name the run (the load) and the data asset (the source) on GX's page
            meta = document.setdefault("meta", {})
            meta["run_id"] = run_id.to_json_dict()
            batch = meta.get("active_batch_definition")
            if isinstance(batch, dict):
                batch["data_asset_name"] = source_id or "staged"
            ctx.validation_results_store.set(identifier, schema.load(document))
            ids.append(identifier)
            stamp = run_time.strftime("%Y%m%dT%H%M%S.%fZ")
            path = "/".join(
                [GX_DIR, "validations", *suite_name.split("."), run_name, stamp, f"{load_id}.html"]
            )
            pages.setdefault(load_id, []).append(
                DataDocsPage(load_id, suite_name, bool(success), path)
            )
        ctx.build_data_docs(site_names=["ngss"], resource_identifiers=ids)
    offline = _make_offline(out)
    missing = [p.path for ps in pages.values() for p in ps if not (site / p.path).exists()]
    if missing:  # GX logs why and goes on; the site goes on without those links
        log.warning("GX did not write %d Data Docs page(s), e.g. %s", len(missing), missing[0])
        pages = {
            lid: kept
            for lid, ps in pages.items()
            if (kept := [p for p in ps if (site / p.path).exists()])
        }
    log.info(
        "GX Data Docs: %d validation pages (%d files made offline) in %s", len(ids), offline, out
    )
    return pages


def _utc(value: Any) -> datetime:
    """A naive UTC timestamp from the warehouse as an aware datetime (GX's run time)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _make_offline(root: Path) -> int:
    """Remove outside scripts, stylesheets and images (tags, and CSS ``url(...)`` backgrounds)
    from every page and stylesheet under ``root``, renumber GX's random element ids per page and
    point each page's links to GX's ``static/`` folder at that folder; returns the number of
    files rewritten.

    Raises:
        ValueError: a page still references an outside resource after the rewrite.
    """
    count = 0
    for page in [*root.rglob("*.html"), *root.rglob("*.css")]:
        text = page.read_text(encoding="utf-8")
        text = _OUTSIDE_URL.sub("none", _OUTSIDE_TAG.sub("", text))
        if page.suffix == ".html" and "</head>" in text and "ngss: offline" not in text:
            text = text.replace("</head>", OFFLINE_CSS + "</head>", 1)
        text = _renumber_ids(text)
        # GX counts one folder too few for suites with a dot in their name and pages of the
        # ``file`` suite link ``static/`` one level short: point every page at the real folder
        static = os.path.relpath(root / "static", page.parent).replace(os.sep, "/") + "/"
        text = _STATIC_REF.sub(static, text) if page.suffix == ".html" else text
        if _OUTSIDE_REF.search(_strip_anchors(text)) or _OUTSIDE_URL.search(text):
            raise ValueError(f"{page}: an outside resource is still referenced")
        page.write_text(text, encoding="utf-8", newline="\n")
        count += 1
    return count


def _renumber_ids(text: str) -> str:
    """Replace each distinct UUID in ``text`` by ``id-1``, ``id-2``, ... in order of appearance."""
    numbers: dict[str, str] = {}
    return _UUID.sub(lambda m: numbers.setdefault(m.group(0), f"id-{len(numbers) + 1}"), text)


def _strip_anchors(text: str) -> str:
    """The page without its ``<a>`` tags (a link is followed only if clicked; it loads nothing)."""
    return re.sub(r"<a\b[^>]*>", "", text, flags=re.IGNORECASE)
