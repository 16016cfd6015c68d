-- One row per pair of payment lines that look like the same invoice paid twice: the same invoice
-- paid twice by one body, the same invoice paid by two bodies, or a near-duplicate (same body,
-- supplier and amount a few days apart under another or no reference). Only accounts-payable
-- lines (those with an invoice number or date) are compared: spend-over-£25,000 transaction
-- numbers identify payments, not invoices.
-- Credit notes (negative amounts) are never paired. Pairs are generated once, left below right.
create or replace table marts.mart_duplicate_payments as
with

lines as (
    select
        s.load_id,
        s.source_file,
        s.source_line,
        coalesce(s.entity_code, s.body_code) as body_code,
        r.supplier_id,
        s.supplier_name,
        s.invoice_number,
        nullif(regexp_replace(
            regexp_replace(upper(s.invoice_number), '[^A-Z0-9]', '', 'g'),
            '(^|[A-Z])0+([0-9])', '\1\2', 'g'), '') as invoice_key,
        s.amount_gbp,
        s.payment_date
    from core.fct_spend as s
    join marts.int_supplier_resolution as r
        on r.supplier_name = s.supplier_name
        and r.supplier_postcode is not distinct from s.supplier_postcode
        and r.vat_number is not distinct from s.vat_number
        and r.company_number is not distinct from s.company_number
    where (s.invoice_number is not null or s.invoice_date is not null)
      and s.amount_gbp > 0
      and not s.is_redacted_payee
),

numbered as (
    select *, row_number() over (order by body_code, source_file, source_line) as line_id
    from lines
),

same_invoice as (
    select
        case when l.body_code = r.body_code then 'same_invoice_same_body' else 'same_invoice_two_bodies' end as kind,
        l.line_id as l_id,
        r.line_id as r_id
    from numbered as l
    join numbered as r
        on l.supplier_id = r.supplier_id
        and l.invoice_key = r.invoice_key
        and l.amount_gbp = r.amount_gbp
        and l.line_id < r.line_id
        and abs(date_diff('day', l.payment_date, r.payment_date)) <= 366
),

near_duplicate as (
    select
        'near_duplicate' as kind,
        l.line_id as l_id,
        r.line_id as r_id
    from numbered as l
    join numbered as r
        on l.body_code = r.body_code
        and l.supplier_id = r.supplier_id
        and l.amount_gbp = r.amount_gbp
        and l.line_id < r.line_id
        and abs(date_diff('day', l.payment_date, r.payment_date)) between 1 and 7
        and l.invoice_key is distinct from r.invoice_key
),

pairs as (
    select * from same_invoice
    union all
    select * from near_duplicate
    where (l_id, r_id) not in (select (l_id, r_id) from same_invoice)
),

evidence as (
    select
        p.kind,
        l.body_code as l_body_code,
        l.source_file as l_source_file,
        l.source_line as l_source_line,
        l.supplier_name as l_supplier_name,
        l.invoice_number as l_invoice_number,
        l.payment_date as l_payment_date,
        r.body_code as r_body_code,
        r.source_file as r_source_file,
        r.source_line as r_source_line,
        r.supplier_name as r_supplier_name,
        r.invoice_number as r_invoice_number,
        r.payment_date as r_payment_date,
        l.supplier_id,
        l.amount_gbp as amount_at_risk_gbp,
        abs(date_diff('day', l.payment_date, r.payment_date)) as days_apart
    from pairs as p
    join numbered as l on l.line_id = p.l_id
    join numbered as r on r.line_id = p.r_id
)

select
    *,
    case kind
        when 'same_invoice_same_body' then
            l_body_code || ' paid invoice ' || l_invoice_number || coalesce(' / ' || nullif(r_invoice_number, l_invoice_number), '')
            || ' of ' || amount_at_risk_gbp || ' pounds to ' || l_supplier_name || ' twice (' || l_payment_date || ' and ' || r_payment_date || ').'
        when 'same_invoice_two_bodies' then
            'Invoice ' || l_invoice_number || ' of ' || amount_at_risk_gbp || ' pounds from ' || l_supplier_name
            || ' was paid by both ' || l_body_code || ' (' || l_payment_date || ') and ' || r_body_code || ' (' || r_payment_date || ').'
        else
            l_body_code || ' paid ' || l_supplier_name || ' the same ' || amount_at_risk_gbp || ' pounds ' || days_apart
            || ' day(s) apart under different references (' || coalesce(l_invoice_number, '-') || ', ' || coalesce(r_invoice_number, '-') || ').'
    end as reason
from evidence
order by kind, l_body_code, l_payment_date, l_source_line
