-- One row per pseudonymised person and pay period paid by two or more bodies (the cross-body
-- matching the National Fraud Initiative does). Flagged for review, not asserted as fraud:
-- a secondment recorded in an HR extract explains some.
create or replace table marts.mart_people_on_multiple_payrolls as
with

-- the person-months paid by two bodies or more, found first with a cheap aggregate (min and
-- max of a NOT NULL column differ exactly when it holds two distinct values), so the lists
-- below are built for those few person-months rather than for every payslip
paid_twice as (
    select person_key, pay_period
    from core.fct_payroll
    group by person_key, pay_period
    having min(employer_code) <> max(employer_code)
),

pay as (
    select
        person_key,
        pay_period,
        employer_code as body_code,
        list(distinct employee_number order by employee_number) as employee_numbers,
        sum(gross_pay_gbp)::decimal(18, 2) as gross_pay_gbp,
        count(*) as payslips
    from core.fct_payroll
    semi join paid_twice using (person_key, pay_period)
    group by all
),

multi as (
    select person_key, pay_period, list(body_code order by body_code) as body_codes
    from pay
    group by all
    having count(distinct body_code) >= 2
),

secondments as (
    select distinct
        person_key,
        date_trunc('month', snapshot_date)::date as month,
        employer_code,
        secondment_to_code
    from core.fct_employment
    where secondment_to_code is not null
),

flagged as (
    select
        m.person_key,
        m.pay_period,
        len(m.body_codes) as body_count,
        m.body_codes,
        list(struct_pack(
            body_code := p.body_code,
            employee_numbers := p.employee_numbers,
            gross_pay_gbp := p.gross_pay_gbp,
            payslips := p.payslips
        ) order by p.body_code) as evidence,
        sum(p.gross_pay_gbp)::decimal(18, 2) as total_gross_pay_gbp,
        exists (
            select 1 from secondments as s
            where s.person_key = m.person_key
              and s.month = m.pay_period
              and list_contains(m.body_codes, s.employer_code)
              and list_contains(m.body_codes, s.secondment_to_code)
        ) as explained_by_secondment
    from multi as m
    join pay as p using (person_key, pay_period)
    group by m.person_key, m.pay_period, m.body_codes
)

select
    *,
    'The same person (same NI number, pseudonymised) was paid by ' || body_count || ' bodies ('
        || array_to_string(body_codes, ', ') || ') for ' || strftime(pay_period, '%B %Y')
        || case
            when explained_by_secondment then ': a secondment between them is recorded in an HR extract.'
            else ': no secondment is recorded; review.'
        end as reason
from flagged
order by explained_by_secondment, pay_period, person_key
