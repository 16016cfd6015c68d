-- One row per body, snapshot and back-office function (HR, FINANCE, PROCUREMENT, PAYROLL): FTE
-- in posts of that function and its share of the body's total FTE in the organogram.
create or replace table marts.mart_function_fte as
with

posts as (
    select
        organisation_code as body_code,
        snapshot_date,
        post_kind,
        back_office_function,
        fte
    from core.fct_post
),

totals as (
    select
        body_code,
        snapshot_date,
        sum(fte) as total_fte,
        string_agg(distinct post_kind, '+' order by post_kind) as post_kinds_covered
    from posts
    group by all
),

functions as (
    select * from (values ('HR'), ('PAYROLL'), ('FINANCE'), ('PROCUREMENT')) as f(back_office_function)
),

by_function as (
    select
        t.body_code,
        t.snapshot_date,
        f.back_office_function,
        coalesce(sum(p.fte), 0)::decimal(12, 2) as function_fte,
        t.total_fte::decimal(12, 2) as total_fte,
        t.post_kinds_covered
    from totals as t
    cross join functions as f
    left join posts as p
        on p.body_code = t.body_code
        and p.snapshot_date = t.snapshot_date
        and p.back_office_function = f.back_office_function
    group by all
)

select
    *,
    case when total_fte > 0 then round(function_fte / total_fte, 4) end as share_of_total_fte
from by_function
order by body_code, snapshot_date, back_office_function
