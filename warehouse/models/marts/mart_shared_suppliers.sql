-- One row per resolved supplier paid by two or more bodies: the supplier, the bodies that paid
-- it, total pounds (and back-office pounds), payment count, first and last payment, and the
-- raw name variants as evidence. Suppliers are resolved by marts.int_supplier_resolution
-- (registration numbers, normalised name, fuzzy name backed by postcode).
create or replace table marts.mart_shared_suppliers as
with

payment_lines as (
    select
        coalesce(s.entity_code, s.body_code) as paying_body_code,
        r.supplier_id,
        s.supplier_name,
        s.amount_gbp,
        s.payment_date,
        e.category as back_office_category
    from core.fct_spend as s
    join marts.int_supplier_resolution as r
        on r.supplier_name = s.supplier_name
        and r.supplier_postcode is not distinct from s.supplier_postcode
        and r.vat_number is not distinct from s.vat_number
        and r.company_number is not distinct from s.company_number
    left join marts.int_back_office_expense_type as e
        on e.expense_type = s.expense_type
    where not s.is_redacted_payee
),

name_counts as (
    select supplier_id, supplier_name, count(*) as n
    from payment_lines
    group by all
),

display_names as (
    -- the most frequent spelling; ties broken by the name itself, so the result never depends
    -- on the order DuckDB's threads meet the rows
    select supplier_id, supplier_name as supplier_display_name
    from name_counts
    qualify row_number() over (partition by supplier_id order by n desc, supplier_name) = 1
),

by_supplier as (
    select
        supplier_id,
        count(distinct paying_body_code) as body_count,
        list(distinct paying_body_code order by paying_body_code) as body_codes,
        sum(amount_gbp)::decimal(18, 2) as total_gbp,
        coalesce(sum(amount_gbp) filter (where back_office_category is not null), 0)::decimal(18, 2)
            as back_office_gbp,
        list(distinct back_office_category order by back_office_category)
            filter (where back_office_category is not null) as back_office_categories,
        count(distinct paying_body_code) filter (where back_office_category is not null)
            as back_office_body_count,
        count(*) as payment_count,
        min(payment_date) as first_payment_date,
        max(payment_date) as last_payment_date,
        list(distinct supplier_name order by supplier_name) as name_variants
    from payment_lines
    group by supplier_id
),

shared as (
    select
        b.supplier_id,
        d.supplier_display_name,
        b.body_count,
        b.body_codes,
        b.total_gbp,
        b.back_office_gbp,
        coalesce(b.back_office_categories, []) as back_office_categories,
        b.back_office_body_count >= 2 as is_back_office_shared,
        b.payment_count,
        b.first_payment_date,
        b.last_payment_date,
        b.name_variants,
        'Paid by ' || b.body_count || ' bodies (' || array_to_string(b.body_codes, ', ') || ') under '
            || len(b.name_variants) || ' name variant(s)'
            || case
                when b.back_office_body_count >= 2
                    then '; ' || b.back_office_body_count || ' of them buy back-office services ('
                        || array_to_string(b.back_office_categories, ', ') || ') from it: a candidate to buy once for all.'
                else '.'
            end as reason
    from by_supplier as b
    join display_names as d using (supplier_id)
    where b.body_count >= 2
)

select * from shared
order by body_count desc, total_gbp desc, supplier_id
