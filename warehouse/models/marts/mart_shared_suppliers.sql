-- One row per resolved supplier paid by two or more bodies: the supplier, the bodies that paid
-- it, total pounds, payment count, first and last payment, and the raw name variants as evidence.
create or replace table marts.mart_shared_suppliers as
with

payment_lines as (
    select
        coalesce(entity_code, body_code) as paying_body_code,
        supplier_key,
        supplier_name,
        amount_gbp,
        payment_date
    from core.fct_spend
    where supplier_key is not null
      and not is_redacted_payee
),

name_counts as (
    select supplier_key, supplier_name, count(*) as n
    from payment_lines
    group by all
),

display_names as (
    select supplier_key, arg_max(supplier_name, n) as supplier_display_name
    from name_counts
    group by supplier_key
),

by_supplier as (
    select
        supplier_key,
        count(distinct paying_body_code) as body_count,
        list(distinct paying_body_code order by paying_body_code) as body_codes,
        sum(amount_gbp)::decimal(18, 2) as total_gbp,
        count(*) as payment_count,
        min(payment_date) as first_payment_date,
        max(payment_date) as last_payment_date,
        list(distinct supplier_name order by supplier_name) as name_variants
    from payment_lines
    group by supplier_key
),

shared as (
    select
        b.supplier_key,
        d.supplier_display_name,
        b.body_count,
        b.body_codes,
        b.total_gbp,
        b.payment_count,
        b.first_payment_date,
        b.last_payment_date,
        b.name_variants,
        'Paid by ' || b.body_count || ' bodies (' || array_to_string(b.body_codes, ', ') || ') under '
            || len(b.name_variants) || ' name variant(s): a candidate to buy once for all.' as reason
    from by_supplier as b
    join display_names as d using (supplier_key)
    where b.body_count >= 2
)

select * from shared
order by body_count desc, total_gbp desc, supplier_key
