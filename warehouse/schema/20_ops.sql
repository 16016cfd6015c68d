CREATE TABLE IF NOT EXISTS ops.load_log (
    load_id            VARCHAR NOT NULL,
    attempt            INTEGER NOT NULL,
    source_id          VARCHAR NOT NULL,
    body_code          VARCHAR NOT NULL,
    domain             VARCHAR NOT NULL,
    period             DATE,
    file_name          VARCHAR NOT NULL,
    sheet              VARCHAR,
    sha256             VARCHAR NOT NULL,
    archive_path       VARCHAR NOT NULL,
    rows_read          INTEGER NOT NULL,
    rows_published     INTEGER NOT NULL,
    rows_quarantined   INTEGER NOT NULL,
    rows_blank         INTEGER NOT NULL,
    status             VARCHAR NOT NULL,
    reject_rule        VARCHAR,
    reject_detail      VARCHAR,
    replaced_load_id   VARCHAR,
    encoding           VARCHAR,
    header_line        INTEGER,
    started_at         TIMESTAMP NOT NULL,
    staged_at          TIMESTAMP NOT NULL,
    published_at       TIMESTAMP NOT NULL,
    stage_seconds      DOUBLE NOT NULL,
    publish_seconds    DOUBLE NOT NULL,
    PRIMARY KEY (load_id, attempt)
);
COMMENT ON TABLE ops.load_log IS 'One row per attempt to load one file (or sheet): counts, status and timings. rows_read = rows_published + rows_quarantined for every row.';
COMMENT ON COLUMN ops.load_log.load_id IS 'Load id: stable for the same source, file bytes and sheet, so a rerun of the same file is the same load.';
COMMENT ON COLUMN ops.load_log.attempt IS 'Attempt number of this load (1 for the first publish, then 2, 3 ... on reruns).';
COMMENT ON COLUMN ops.load_log.source_id IS 'Source registry entry.';
COMMENT ON COLUMN ops.load_log.body_code IS 'Body of the source.';
COMMENT ON COLUMN ops.load_log.domain IS 'Domain: spend, posts or workforce.';
COMMENT ON COLUMN ops.load_log.period IS 'Partition period (first day of month); NULL when the file was rejected before it was known.';
COMMENT ON COLUMN ops.load_log.file_name IS 'File name as received.';
COMMENT ON COLUMN ops.load_log.sheet IS 'Sheet name for spreadsheets.';
COMMENT ON COLUMN ops.load_log.sha256 IS 'SHA-256 of the file as received (hex).';
COMMENT ON COLUMN ops.load_log.archive_path IS 'Where the file is archived, under its content hash.';
COMMENT ON COLUMN ops.load_log.rows_read IS 'Data records read (blank padding records excluded).';
COMMENT ON COLUMN ops.load_log.rows_published IS 'Rows published into the core table.';
COMMENT ON COLUMN ops.load_log.rows_quarantined IS 'Rows kept in ops.quarantine_row with the rules they broke.';
COMMENT ON COLUMN ops.load_log.rows_blank IS 'Blank padding records (every cell empty): not data, counted apart.';
COMMENT ON COLUMN ops.load_log.status IS 'published (partition replaced) or rejected (a file-level rule failed; nothing published).';
COMMENT ON COLUMN ops.load_log.reject_rule IS 'File-level rule id that rejected the file.';
COMMENT ON COLUMN ops.load_log.reject_detail IS 'Plain-English reason for the rejection, naming line and column where known.';
COMMENT ON COLUMN ops.load_log.replaced_load_id IS 'Load whose rows this load replaced in the partition (NULL for the first load).';
COMMENT ON COLUMN ops.load_log.encoding IS 'Text encoding used to read the file.';
COMMENT ON COLUMN ops.load_log.header_line IS 'Line of the header record.';
COMMENT ON COLUMN ops.load_log.started_at IS 'When staging started (UTC).';
COMMENT ON COLUMN ops.load_log.staged_at IS 'When staging finished (UTC).';
COMMENT ON COLUMN ops.load_log.published_at IS 'When the publish transaction committed (UTC).';
COMMENT ON COLUMN ops.load_log.stage_seconds IS 'Seconds spent reading, validating, splitting and normalising.';
COMMENT ON COLUMN ops.load_log.publish_seconds IS 'Seconds spent in the publish transaction.';

CREATE TABLE IF NOT EXISTS ops.partition (
    source_id      VARCHAR NOT NULL,
    period         DATE NOT NULL,
    domain         VARCHAR NOT NULL,
    body_code      VARCHAR NOT NULL,
    load_id        VARCHAR NOT NULL,
    published_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (source_id, period)
);
COMMENT ON TABLE ops.partition IS 'One row per published partition (source, period): the load whose rows are live.';
COMMENT ON COLUMN ops.partition.source_id IS 'Source registry entry.';
COMMENT ON COLUMN ops.partition.period IS 'First day of the partition''s month.';
COMMENT ON COLUMN ops.partition.domain IS 'Domain of the source.';
COMMENT ON COLUMN ops.partition.body_code IS 'Body of the source.';
COMMENT ON COLUMN ops.partition.load_id IS 'Live load of the partition.';
COMMENT ON COLUMN ops.partition.published_at IS 'When that load was published (UTC).';

CREATE TABLE IF NOT EXISTS ops.validation_result (
    load_id            VARCHAR NOT NULL,
    rule_id            VARCHAR NOT NULL,
    level              VARCHAR NOT NULL,
    expectation_type   VARCHAR NOT NULL,
    column_name        VARCHAR,
    success            BOOLEAN NOT NULL,
    element_count      INTEGER,
    unexpected_count   INTEGER,
    description        VARCHAR NOT NULL,
    how_to_fix         VARCHAR,
    rule_source        VARCHAR,
    kwargs_json        VARCHAR
);
COMMENT ON TABLE ops.validation_result IS 'One row per expectation evaluated on a load (Great Expectations suites spend/posts/workforce, file and row level).';
COMMENT ON COLUMN ops.validation_result.load_id IS 'Load validated.';
COMMENT ON COLUMN ops.validation_result.rule_id IS 'Rule id (e.g. spend.row.amount_parseable), from the expectation''s meta.';
COMMENT ON COLUMN ops.validation_result.level IS 'file (failure rejects the load) or row (failing rows are quarantined).';
COMMENT ON COLUMN ops.validation_result.expectation_type IS 'Great Expectations expectation type.';
COMMENT ON COLUMN ops.validation_result.column_name IS 'Column checked, if any.';
COMMENT ON COLUMN ops.validation_result.success IS 'Whether the expectation passed.';
COMMENT ON COLUMN ops.validation_result.element_count IS 'Rows evaluated.';
COMMENT ON COLUMN ops.validation_result.unexpected_count IS 'Rows that failed.';
COMMENT ON COLUMN ops.validation_result.description IS 'What the rule means, in plain English.';
COMMENT ON COLUMN ops.validation_result.how_to_fix IS 'What the data owner should change.';
COMMENT ON COLUMN ops.validation_result.rule_source IS 'Where the rule comes from (HMT guidance, DESIGN.md, a schema).';
COMMENT ON COLUMN ops.validation_result.kwargs_json IS 'The expectation''s arguments as JSON.';

CREATE TABLE IF NOT EXISTS ops.validation_run (
    load_id                  VARCHAR NOT NULL,
    suite_name               VARCHAR NOT NULL,
    success                  BOOLEAN NOT NULL,
    evaluated_expectations   INTEGER NOT NULL,
    successful_expectations  INTEGER NOT NULL,
    validated_at             TIMESTAMP NOT NULL,
    result_json              VARCHAR NOT NULL,
    PRIMARY KEY (load_id, suite_name)
);
COMMENT ON TABLE ops.validation_run IS 'One row per Great Expectations suite run on a load (the file suite, then the domain''s row suite): GX''s own validation result, from which the review site builds GX Data Docs. Loads rejected before validation have none.';
COMMENT ON COLUMN ops.validation_run.load_id IS 'Load validated.';
COMMENT ON COLUMN ops.validation_run.suite_name IS 'Expectation suite (file, spend.row, payroll.row, ...).';
COMMENT ON COLUMN ops.validation_run.success IS 'Whether every expectation of the suite passed.';
COMMENT ON COLUMN ops.validation_run.evaluated_expectations IS 'Expectations evaluated.';
COMMENT ON COLUMN ops.validation_run.successful_expectations IS 'Expectations that passed.';
COMMENT ON COLUMN ops.validation_run.validated_at IS 'When the load was staged and validated (UTC).';
COMMENT ON COLUMN ops.validation_run.result_json IS 'GX ExpectationSuiteValidationResult as JSON; failing values and rows cut to GX''s partial lists (at most 20 each).';

CREATE TABLE IF NOT EXISTS ops.quarantine_row (
    load_id        VARCHAR NOT NULL,
    source_id      VARCHAR NOT NULL,
    body_code      VARCHAR NOT NULL,
    source_file    VARCHAR NOT NULL,
    sheet          VARCHAR,
    source_line    INTEGER NOT NULL,
    rule_ids       VARCHAR[] NOT NULL,
    reason         VARCHAR NOT NULL,
    raw_json       VARCHAR NOT NULL
);
COMMENT ON TABLE ops.quarantine_row IS 'One row per quarantined source row: the rules it broke and its raw values, so the data owner can fix it.';
COMMENT ON COLUMN ops.quarantine_row.load_id IS 'Load the row came from.';
COMMENT ON COLUMN ops.quarantine_row.source_id IS 'Source registry entry.';
COMMENT ON COLUMN ops.quarantine_row.body_code IS 'Body of the source (review pages show a body its own rows only).';
COMMENT ON COLUMN ops.quarantine_row.source_file IS 'File name as received.';
COMMENT ON COLUMN ops.quarantine_row.sheet IS 'Sheet name for spreadsheets.';
COMMENT ON COLUMN ops.quarantine_row.source_line IS 'Physical line (1-based) where the record starts.';
COMMENT ON COLUMN ops.quarantine_row.rule_ids IS 'Row-level rules broken.';
COMMENT ON COLUMN ops.quarantine_row.reason IS 'Plain-English reasons, one per rule.';
COMMENT ON COLUMN ops.quarantine_row.raw_json IS 'The row''s values as read (source column name to text), personal data columns excluded.';

CREATE TABLE IF NOT EXISTS ops.evaluation (
    evaluated_at      TIMESTAMP NOT NULL,
    ground_truth      VARCHAR NOT NULL,
    measure           VARCHAR NOT NULL,
    kind              VARCHAR NOT NULL,
    true_positives    BIGINT NOT NULL,
    false_positives   BIGINT NOT NULL,
    false_negatives   BIGINT NOT NULL,
    "precision"       DOUBLE,
    recall            DOUBLE,
    detail            VARCHAR
);
-- pairwise counts pass 2^31 at full scale (17,381,014,283 true pairs for supplier resolution on
-- a year of 25 bodies): warehouses created with INTEGER columns are widened
ALTER TABLE ops.evaluation ALTER COLUMN true_positives TYPE BIGINT;
ALTER TABLE ops.evaluation ALTER COLUMN false_positives TYPE BIGINT;
ALTER TABLE ops.evaluation ALTER COLUMN false_negatives TYPE BIGINT;
COMMENT ON TABLE ops.evaluation IS 'One row per evaluation run, measure and kind: precision and recall of a mart (or of quarantine) against the planted ground truth of generated extracts.';
COMMENT ON COLUMN ops.evaluation.evaluated_at IS 'When ngss evaluate ran (UTC).';
COMMENT ON COLUMN ops.evaluation.ground_truth IS 'Folder of the ground-truth files evaluated against.';
COMMENT ON COLUMN ops.evaluation.measure IS 'What was measured: a mart (e.g. mart_duplicate_payments), supplier_resolution or quarantine.';
COMMENT ON COLUMN ops.evaluation.kind IS 'Kind of finding (e.g. same_invoice_two_bodies, unexplained, invalid_ni) or all.';
COMMENT ON COLUMN ops.evaluation.true_positives IS 'Planted items found (pairs for supplier resolution).';
COMMENT ON COLUMN ops.evaluation.false_positives IS 'Items flagged that were not planted.';
COMMENT ON COLUMN ops.evaluation.false_negatives IS 'Planted items not found.';
COMMENT ON COLUMN ops.evaluation."precision" IS 'true_positives / (true_positives + false_positives); NULL when nothing was flagged.';
COMMENT ON COLUMN ops.evaluation.recall IS 'true_positives / (true_positives + false_negatives); NULL when nothing was planted.';
COMMENT ON COLUMN ops.evaluation.detail IS 'Examples of misses and false alarms, for review.';

CREATE TABLE IF NOT EXISTS ops.marts_status (
    id               INTEGER PRIMARY KEY,
    marts_stale      BOOLEAN NOT NULL,
    core_changed_at  TIMESTAMP,
    marts_built_at   TIMESTAMP
);
-- stale until a rebuild says otherwise: a warehouse upgraded with marts of unknown age waits for
-- its next rebuild before its snapshot is refreshed
INSERT INTO ops.marts_status SELECT 1, true, NULL, NULL
    WHERE NOT EXISTS (SELECT 1 FROM ops.marts_status);
COMMENT ON TABLE ops.marts_status IS 'One row per warehouse (id 1): whether core changed since the marts were last rebuilt. A publish sets marts_stale in its own transaction, the marts rebuild clears it in its; the analysts'' read snapshot is refreshed only when it is false, so readers never see new core with old marts.';
COMMENT ON COLUMN ops.marts_status.id IS 'Always 1 (a single row).';
COMMENT ON COLUMN ops.marts_status.marts_stale IS 'True from any publish (or a change of core.dim_organisation) until the next marts rebuild commits.';
COMMENT ON COLUMN ops.marts_status.core_changed_at IS 'When a publish last marked the marts stale (UTC).';
COMMENT ON COLUMN ops.marts_status.marts_built_at IS 'When the marts were last rebuilt (UTC).';

CREATE TABLE IF NOT EXISTS ops.schema_applied (
    digest      VARCHAR NOT NULL,
    applied_at  TIMESTAMP NOT NULL
);
COMMENT ON TABLE ops.schema_applied IS 'One row per warehouse: the SHA-256 of the DDL files last applied (warehouse.connection.schema_digest); a writer re-applies the DDL only when its own digest differs.';
COMMENT ON COLUMN ops.schema_applied.digest IS 'SHA-256 of the schema files'' names and text.';
COMMENT ON COLUMN ops.schema_applied.applied_at IS 'When the DDL was last applied (UTC).';
