CREATE TABLE IF NOT EXISTS core.dim_organisation (
    body_code      VARCHAR PRIMARY KEY,
    name           VARCHAR NOT NULL,
    body_type      VARCHAR NOT NULL,
    parent_code    VARCHAR,
    parent_name    VARCHAR,
    govuk_id       VARCHAR,
    name_variants  VARCHAR[]
);
COMMENT ON TABLE core.dim_organisation IS 'One row per public body (department, arm''s-length body or council), from config/reference/organisations.csv and the GOV.UK organisations list.';
COMMENT ON COLUMN core.dim_organisation.body_code IS 'Stable short code of the body (slug, e.g. hmrc, dwp, noms).';
COMMENT ON COLUMN core.dim_organisation.name IS 'Current or last official name of the body.';
COMMENT ON COLUMN core.dim_organisation.body_type IS 'ministerial-department, non-ministerial-department, executive-agency, ndpb, public-corporation, local-authority or other.';
COMMENT ON COLUMN core.dim_organisation.parent_code IS 'body_code of the parent department (the department family); NULL for departments and councils.';
COMMENT ON COLUMN core.dim_organisation.parent_name IS 'Name of the parent department.';
COMMENT ON COLUMN core.dim_organisation.govuk_id IS 'GOV.UK organisation id (GB-GOR scheme, e.g. D1); NULL for bodies that no longer exist.';
COMMENT ON COLUMN core.dim_organisation.name_variants IS 'Other spellings seen in files that resolve to this body.';

CREATE TABLE IF NOT EXISTS core.fct_spend (
    load_id              VARCHAR NOT NULL,
    source_id            VARCHAR NOT NULL,
    body_code            VARCHAR NOT NULL,
    period               DATE NOT NULL,
    source_file          VARCHAR NOT NULL,
    source_line          INTEGER NOT NULL,
    department_family    VARCHAR,
    department_code      VARCHAR,
    entity               VARCHAR,
    entity_code          VARCHAR,
    business_unit        VARCHAR,
    payment_date         DATE,
    expense_type         VARCHAR,
    expense_type_code    VARCHAR,
    expense_area         VARCHAR,
    cost_centre_code     VARCHAR,
    supplier_name        VARCHAR,
    supplier_id          VARCHAR,
    supplier_key         VARCHAR,
    is_redacted_payee    BOOLEAN NOT NULL,
    transaction_number   VARCHAR,
    amount_gbp           DECIMAL(18,2) NOT NULL,
    description          VARCHAR,
    supplier_postcode    VARCHAR,
    supplier_type        VARCHAR,
    contract_number      VARCHAR,
    project_code         VARCHAR,
    expenditure_type     VARCHAR,
    vat_number           VARCHAR,
    invoice_number       VARCHAR,
    invoice_date         DATE,
    company_number       VARCHAR
);
-- Changes after the first release: warehouses built before get them here.
ALTER TABLE core.fct_spend ALTER COLUMN payment_date DROP NOT NULL;
ALTER TABLE core.fct_spend ADD COLUMN IF NOT EXISTS invoice_number VARCHAR;
ALTER TABLE core.fct_spend ADD COLUMN IF NOT EXISTS invoice_date DATE;
ALTER TABLE core.fct_spend ADD COLUMN IF NOT EXISTS company_number VARCHAR;
ALTER TABLE core.fct_spend ADD COLUMN IF NOT EXISTS net_amount_gbp DECIMAL(18,2);
ALTER TABLE core.fct_spend ADD COLUMN IF NOT EXISTS vat_amount_gbp DECIMAL(18,2);
COMMENT ON TABLE core.fct_spend IS 'One row per payment line published by a body (spend over £25,000 / £500 files and accounts-payable extracts); partitioned by (source_id, period).';
COMMENT ON COLUMN core.fct_spend.load_id IS 'Load that published the row (ops.load_log.load_id).';
COMMENT ON COLUMN core.fct_spend.source_id IS 'Source registry entry (config/sources/<source_id>.yaml).';
COMMENT ON COLUMN core.fct_spend.body_code IS 'Body that published the file (core.dim_organisation.body_code).';
COMMENT ON COLUMN core.fct_spend.period IS 'First day of the first month the file covers (the partition).';
COMMENT ON COLUMN core.fct_spend.source_file IS 'File name as received.';
COMMENT ON COLUMN core.fct_spend.source_line IS 'Physical line (1-based) where the record starts in the file.';
COMMENT ON COLUMN core.fct_spend.department_family IS 'Department family as written in the file.';
COMMENT ON COLUMN core.fct_spend.department_code IS 'Department family resolved to a body_code.';
COMMENT ON COLUMN core.fct_spend.entity IS 'Entity as written in the file.';
COMMENT ON COLUMN core.fct_spend.entity_code IS 'Paying body: the entity resolved to a body_code (the publisher where the entity column names business units).';
COMMENT ON COLUMN core.fct_spend.business_unit IS 'Business unit of the publisher where the file''s entity column names units rather than bodies.';
COMMENT ON COLUMN core.fct_spend.payment_date IS 'Date paid (DATE; day-first in every source); NULL only on a credit note not yet applied.';
COMMENT ON COLUMN core.fct_spend.expense_type IS 'Expense type as sent.';
COMMENT ON COLUMN core.fct_spend.expense_type_code IS 'Ledger code of the expense type, as text.';
COMMENT ON COLUMN core.fct_spend.expense_area IS 'Expense area (cost centre or directorate) as sent.';
COMMENT ON COLUMN core.fct_spend.cost_centre_code IS 'Cost centre code as text (leading zeros kept).';
COMMENT ON COLUMN core.fct_spend.supplier_name IS 'Supplier name as sent (trimmed).';
COMMENT ON COLUMN core.fct_spend.supplier_id IS 'Supplier id in the body''s ledger.';
COMMENT ON COLUMN core.fct_spend.supplier_key IS 'Resolved supplier: matching key after name normalisation (transforms.resolve.supplier_key); NULL for redacted payees.';
COMMENT ON COLUMN core.fct_spend.is_redacted_payee IS 'True where the payee is redacted or withheld (a marker, not a supplier).';
COMMENT ON COLUMN core.fct_spend.transaction_number IS 'Transaction, voucher or invoice reference as sent.';
COMMENT ON COLUMN core.fct_spend.amount_gbp IS 'Amount in pounds, DECIMAL(18,2); credits negative.';
COMMENT ON COLUMN core.fct_spend.description IS 'Description as sent.';
COMMENT ON COLUMN core.fct_spend.supplier_postcode IS 'Supplier postcode as sent.';
COMMENT ON COLUMN core.fct_spend.supplier_type IS 'Supplier type as sent.';
COMMENT ON COLUMN core.fct_spend.contract_number IS 'Contract number as sent.';
COMMENT ON COLUMN core.fct_spend.project_code IS 'Project code as sent.';
COMMENT ON COLUMN core.fct_spend.expenditure_type IS 'Revenue/capital or programme/admin classification as sent.';
COMMENT ON COLUMN core.fct_spend.vat_number IS 'Supplier VAT registration number as sent.';
COMMENT ON COLUMN core.fct_spend.invoice_number IS 'Supplier''s invoice number as sent (accounts-payable extracts).';
COMMENT ON COLUMN core.fct_spend.invoice_date IS 'Date on the supplier''s invoice (accounts-payable extracts).';
COMMENT ON COLUMN core.fct_spend.company_number IS 'Supplier''s Companies House number as sent.';
COMMENT ON COLUMN core.fct_spend.net_amount_gbp IS 'Net amount (before VAT) in pounds where the file gives one and the source maps it.';
COMMENT ON COLUMN core.fct_spend.vat_amount_gbp IS 'VAT in pounds where the file gives it and the source maps it.';

CREATE TABLE IF NOT EXISTS core.fct_post (
    load_id                     VARCHAR NOT NULL,
    source_id                   VARCHAR NOT NULL,
    body_code                   VARCHAR NOT NULL,
    period                      DATE NOT NULL,
    snapshot_date               DATE NOT NULL,
    post_kind                   VARCHAR NOT NULL,
    source_file                 VARCHAR NOT NULL,
    source_line                 INTEGER NOT NULL,
    post_ref                    VARCHAR,
    grade_as_sent               VARCHAR NOT NULL,
    grade                       VARCHAR NOT NULL,
    job_title                   VARCHAR,
    job_function                VARCHAR,
    parent_department           VARCHAR,
    parent_code                 VARCHAR,
    organisation                VARCHAR,
    organisation_code           VARCHAR NOT NULL,
    unit                        VARCHAR,
    reports_to                  VARCHAR,
    fte                         DECIMAL(10,2) NOT NULL,
    pay_floor_gbp               DECIMAL(18,2),
    pay_ceiling_gbp             DECIMAL(18,2),
    salary_cost_of_reports_gbp  DECIMAL(18,2),
    profession                  VARCHAR,
    back_office_function        VARCHAR NOT NULL
);
COMMENT ON TABLE core.fct_post IS 'One row per senior post, or per junior grade-and-role line, at a snapshot date (organogram files); partitioned by (source_id, period).';
COMMENT ON COLUMN core.fct_post.load_id IS 'Load that published the row.';
COMMENT ON COLUMN core.fct_post.source_id IS 'Source registry entry.';
COMMENT ON COLUMN core.fct_post.body_code IS 'Body that published the file.';
COMMENT ON COLUMN core.fct_post.period IS 'First day of the snapshot month (the partition).';
COMMENT ON COLUMN core.fct_post.snapshot_date IS 'Date the organogram describes (e.g. 2011-09-30).';
COMMENT ON COLUMN core.fct_post.post_kind IS 'senior (one named SCS post) or junior (posts by grade and role reporting to a senior post).';
COMMENT ON COLUMN core.fct_post.source_file IS 'File name as received.';
COMMENT ON COLUMN core.fct_post.source_line IS 'Physical line (1-based) where the record starts.';
COMMENT ON COLUMN core.fct_post.post_ref IS 'The body''s post reference (senior posts).';
COMMENT ON COLUMN core.fct_post.grade_as_sent IS 'Grade as written by the body (its own band name).';
COMMENT ON COLUMN core.fct_post.grade IS 'Canonical grade: AA, AO, EO, HEO, SEO, G7, G6, SCS1-SCS4, OTHER or UNKNOWN, through the source''s grade mapping.';
COMMENT ON COLUMN core.fct_post.job_title IS 'Job title as sent.';
COMMENT ON COLUMN core.fct_post.job_function IS 'Description of the post''s function as sent.';
COMMENT ON COLUMN core.fct_post.parent_department IS 'Parent department as written.';
COMMENT ON COLUMN core.fct_post.parent_code IS 'Parent department resolved to a body_code.';
COMMENT ON COLUMN core.fct_post.organisation IS 'Organisation as written.';
COMMENT ON COLUMN core.fct_post.organisation_code IS 'Organisation resolved to a body_code.';
COMMENT ON COLUMN core.fct_post.unit IS 'Unit (directorate or team) as sent.';
COMMENT ON COLUMN core.fct_post.reports_to IS 'Post reference of the senior post reported to.';
COMMENT ON COLUMN core.fct_post.fte IS 'Full-time equivalent: at most 1 for a senior post; the sum over posts for a junior line.';
COMMENT ON COLUMN core.fct_post.pay_floor_gbp IS 'Pay floor, pounds a year; NULL where withheld (N/D or 0 in the file).';
COMMENT ON COLUMN core.fct_post.pay_ceiling_gbp IS 'Pay ceiling, pounds a year; NULL where withheld.';
COMMENT ON COLUMN core.fct_post.salary_cost_of_reports_gbp IS 'Salary cost of the staff reporting to the post, pounds a year.';
COMMENT ON COLUMN core.fct_post.profession IS 'Profession as sent.';
COMMENT ON COLUMN core.fct_post.back_office_function IS 'HR, PAYROLL, FINANCE, PROCUREMENT or OTHER, from the profession through config/mappings/professions.csv.';

CREATE TABLE IF NOT EXISTS core.fct_workforce (
    load_id            VARCHAR NOT NULL,
    source_id          VARCHAR NOT NULL,
    body_code          VARCHAR NOT NULL,
    period             DATE NOT NULL,
    source_file        VARCHAR NOT NULL,
    sheet              VARCHAR,
    source_line        INTEGER NOT NULL,
    organisation       VARCHAR,
    organisation_code  VARCHAR NOT NULL,
    parent_department  VARCHAR,
    parent_code        VARCHAR,
    headcount          DECIMAL(12,2) NOT NULL,
    fte                DECIMAL(12,2) NOT NULL,
    paybill_gbp        DECIMAL(18,2)
);
COMMENT ON TABLE core.fct_workforce IS 'One row per body per month: payroll headcount, FTE and paybill from monthly workforce management information; partitioned by (source_id, period).';
COMMENT ON COLUMN core.fct_workforce.load_id IS 'Load that published the row.';
COMMENT ON COLUMN core.fct_workforce.source_id IS 'Source registry entry.';
COMMENT ON COLUMN core.fct_workforce.body_code IS 'Body (usually the department) that published the file.';
COMMENT ON COLUMN core.fct_workforce.period IS 'First day of the month described.';
COMMENT ON COLUMN core.fct_workforce.source_file IS 'File name as received.';
COMMENT ON COLUMN core.fct_workforce.sheet IS 'Sheet name for spreadsheets.';
COMMENT ON COLUMN core.fct_workforce.source_line IS 'Line (CSV) or sheet row (spreadsheets), 1-based.';
COMMENT ON COLUMN core.fct_workforce.organisation IS 'Organisation as written.';
COMMENT ON COLUMN core.fct_workforce.organisation_code IS 'Organisation resolved to a body_code.';
COMMENT ON COLUMN core.fct_workforce.parent_department IS 'Parent department as written.';
COMMENT ON COLUMN core.fct_workforce.parent_code IS 'Parent department of the organisation.';
COMMENT ON COLUMN core.fct_workforce.headcount IS 'Payroll staff headcount (people).';
COMMENT ON COLUMN core.fct_workforce.fte IS 'Payroll staff full-time equivalent.';
COMMENT ON COLUMN core.fct_workforce.paybill_gbp IS 'Payroll staff paybill for the month, pounds.';

CREATE TABLE IF NOT EXISTS core.fct_payroll (
    load_id                VARCHAR NOT NULL,
    source_id              VARCHAR NOT NULL,
    body_code              VARCHAR NOT NULL,
    period                 DATE NOT NULL,
    source_file            VARCHAR NOT NULL,
    source_line            INTEGER NOT NULL,
    employer               VARCHAR,
    employer_code          VARCHAR NOT NULL,
    employee_number        VARCHAR NOT NULL,
    person_key             VARCHAR NOT NULL,
    pay_period             DATE NOT NULL,
    pay_date               DATE NOT NULL,
    grade_as_sent          VARCHAR NOT NULL,
    grade                  VARCHAR NOT NULL,
    fte                    DECIMAL(6,4) NOT NULL,
    cost_centre            VARCHAR,
    gross_pay_gbp          DECIMAL(18,2) NOT NULL,
    tax_gbp                DECIMAL(18,2) NOT NULL,
    employee_ni_gbp        DECIMAL(18,2) NOT NULL,
    employer_ni_gbp        DECIMAL(18,2) NOT NULL,
    employee_pension_gbp   DECIMAL(18,2) NOT NULL,
    employer_pension_gbp   DECIMAL(18,2) NOT NULL,
    other_deductions_gbp   DECIMAL(18,2),
    net_pay_gbp            DECIMAL(18,2) NOT NULL
);
COMMENT ON TABLE core.fct_payroll IS 'One row per person per pay period per body (payroll extracts); partitioned by (source_id, period). No NI number or name is stored.';
COMMENT ON COLUMN core.fct_payroll.load_id IS 'Load that published the row.';
COMMENT ON COLUMN core.fct_payroll.source_id IS 'Source registry entry.';
COMMENT ON COLUMN core.fct_payroll.body_code IS 'Body that sent the extract.';
COMMENT ON COLUMN core.fct_payroll.period IS 'First day of the pay period month (the partition).';
COMMENT ON COLUMN core.fct_payroll.source_file IS 'File name as received.';
COMMENT ON COLUMN core.fct_payroll.source_line IS 'Line (or row) of the record in the file.';
COMMENT ON COLUMN core.fct_payroll.employer IS 'Employer as written.';
COMMENT ON COLUMN core.fct_payroll.employer_code IS 'Employer resolved to a body_code.';
COMMENT ON COLUMN core.fct_payroll.employee_number IS 'The body''s own employee number (text).';
COMMENT ON COLUMN core.fct_payroll.person_key IS 'Pseudonymised person: HMAC-SHA256 of the normalised NI number under the ngss secret (hex); equal across bodies for the same person.';
COMMENT ON COLUMN core.fct_payroll.pay_period IS 'First day of the month paid.';
COMMENT ON COLUMN core.fct_payroll.pay_date IS 'Date paid.';
COMMENT ON COLUMN core.fct_payroll.grade_as_sent IS 'Grade as written by the body.';
COMMENT ON COLUMN core.fct_payroll.grade IS 'Canonical grade (AA ... SCS4, OTHER).';
COMMENT ON COLUMN core.fct_payroll.fte IS 'Full-time equivalent of the contract, in (0, 1].';
COMMENT ON COLUMN core.fct_payroll.cost_centre IS 'Cost centre code (text, leading zeros kept).';
COMMENT ON COLUMN core.fct_payroll.gross_pay_gbp IS 'Gross pay for the period, pounds.';
COMMENT ON COLUMN core.fct_payroll.tax_gbp IS 'Income tax deducted, pounds.';
COMMENT ON COLUMN core.fct_payroll.employee_ni_gbp IS 'Employee National Insurance, pounds.';
COMMENT ON COLUMN core.fct_payroll.employer_ni_gbp IS 'Employer National Insurance, pounds.';
COMMENT ON COLUMN core.fct_payroll.employee_pension_gbp IS 'Employee pension contribution, pounds.';
COMMENT ON COLUMN core.fct_payroll.employer_pension_gbp IS 'Employer pension contribution, pounds.';
COMMENT ON COLUMN core.fct_payroll.other_deductions_gbp IS 'Other deductions, pounds (NULL when none were sent).';
COMMENT ON COLUMN core.fct_payroll.net_pay_gbp IS 'Net pay, pounds: gross - tax - employee NI - employee pension - other deductions, within a penny.';

CREATE TABLE IF NOT EXISTS core.fct_employment (
    load_id               VARCHAR NOT NULL,
    source_id             VARCHAR NOT NULL,
    body_code             VARCHAR NOT NULL,
    period                DATE NOT NULL,
    source_file           VARCHAR NOT NULL,
    source_line           INTEGER NOT NULL,
    employer              VARCHAR,
    employer_code         VARCHAR NOT NULL,
    employee_number       VARCHAR NOT NULL,
    person_key            VARCHAR NOT NULL,
    snapshot_date         DATE NOT NULL,
    grade_as_sent         VARCHAR NOT NULL,
    grade                 VARCHAR NOT NULL,
    fte                   DECIMAL(6,4) NOT NULL,
    cost_centre           VARCHAR,
    profession            VARCHAR,
    back_office_function  VARCHAR NOT NULL,
    job_title             VARCHAR,
    start_date            DATE,
    annual_salary_gbp     DECIMAL(18,2),
    secondment_to         VARCHAR,
    secondment_to_code    VARCHAR
);
COMMENT ON TABLE core.fct_employment IS 'One row per person per body per snapshot (HR employee extracts); partitioned by (source_id, period). No NI number or name is stored.';
COMMENT ON COLUMN core.fct_employment.load_id IS 'Load that published the row.';
COMMENT ON COLUMN core.fct_employment.source_id IS 'Source registry entry.';
COMMENT ON COLUMN core.fct_employment.body_code IS 'Body that sent the extract.';
COMMENT ON COLUMN core.fct_employment.period IS 'First day of the snapshot month (the partition).';
COMMENT ON COLUMN core.fct_employment.source_file IS 'File name as received.';
COMMENT ON COLUMN core.fct_employment.source_line IS 'Line (or row) of the record in the file.';
COMMENT ON COLUMN core.fct_employment.employer IS 'Employer as written.';
COMMENT ON COLUMN core.fct_employment.employer_code IS 'Employer resolved to a body_code.';
COMMENT ON COLUMN core.fct_employment.employee_number IS 'The body''s own employee number (text).';
COMMENT ON COLUMN core.fct_employment.person_key IS 'Pseudonymised person (HMAC-SHA256 of the NI number), as in core.fct_payroll.';
COMMENT ON COLUMN core.fct_employment.snapshot_date IS 'Date the extract describes.';
COMMENT ON COLUMN core.fct_employment.grade_as_sent IS 'Grade as written by the body.';
COMMENT ON COLUMN core.fct_employment.grade IS 'Canonical grade.';
COMMENT ON COLUMN core.fct_employment.fte IS 'Full-time equivalent, in (0, 1].';
COMMENT ON COLUMN core.fct_employment.cost_centre IS 'Cost centre code (text).';
COMMENT ON COLUMN core.fct_employment.profession IS 'Profession or job family as sent.';
COMMENT ON COLUMN core.fct_employment.back_office_function IS 'HR, PAYROLL, FINANCE, PROCUREMENT or OTHER (profession mapping).';
COMMENT ON COLUMN core.fct_employment.job_title IS 'Job title as sent.';
COMMENT ON COLUMN core.fct_employment.start_date IS 'Date the person joined the body.';
COMMENT ON COLUMN core.fct_employment.annual_salary_gbp IS 'Full-time annual salary, pounds.';
COMMENT ON COLUMN core.fct_employment.secondment_to IS 'Body the person is seconded to, as written.';
COMMENT ON COLUMN core.fct_employment.secondment_to_code IS 'Secondment body resolved to a body_code.';
