-- One row per body and back-office function (HR, PAYROLL, FINANCE, PROCUREMENT): FTE and pay
-- cost of the staff doing it, the units they serve, cost per unit, the best-quartile unit cost
-- across bodies and the estimated annual saving if the body ran at that cost.
--   pay cost    = gross pay + employer NI + employer pension of the function's staff (payroll
--                 rows joined to the HR extract of the same body, employee and month)
--   units       = HR: employees (average headcount of the HR snapshots);
--                 PAYROLL: payslips (payroll rows); FINANCE and PROCUREMENT: payment lines in
--                 the body's accounts-payable extracts
--   period      = the months of payroll the body sent; pounds and flow units are annualised
--                 (x 12 / months); headcount is a stock and is not
--   saving      = max(0, cost per unit - best quartile) x annual units
create or replace table marts.mart_function_cost as
with

functions as (
    select * from (values
        ('HR', 'employees', 'average headcount in the HR extracts'),
        ('PAYROLL', 'payslips', 'payroll rows (one payslip per person per pay period)'),
        ('FINANCE', 'payment lines', 'lines in the accounts-payable extracts'),
        ('PROCUREMENT', 'payment lines', 'lines in the accounts-payable extracts')
    ) as f(back_office_function, unit, unit_definition)
),

payroll_months as (
    select
        body_code,
        count(distinct pay_period) as months,
        min(pay_period) as period_start,
        max(pay_period) as period_end
    from core.fct_payroll
    group by body_code
),

staff as (
    select
        e.body_code,
        e.employee_number,
        date_trunc('month', e.snapshot_date)::date as month,
        e.back_office_function,
        e.fte
    from core.fct_employment as e
),

function_pay as (
    select
        p.body_code,
        s.back_office_function,
        sum(p.gross_pay_gbp + p.employer_ni_gbp + p.employer_pension_gbp) as pay_cost_gbp
    from core.fct_payroll as p
    join staff as s
        on s.body_code = p.body_code
        and s.employee_number = p.employee_number
        and s.month = p.pay_period
    group by all
),

function_fte as (
    select body_code, back_office_function, sum(fte) / count(distinct month) as fte
    from staff
    group by all
),

headcount as (
    select body_code, count(*) / count(distinct month) as employees
    from staff
    group by body_code
),

payslips as (
    select body_code, count(*) as payslips
    from core.fct_payroll
    group by body_code
),

payment_lines as (
    select s.body_code, count(*) as lines
    from core.fct_spend as s
    join payroll_months as m using (body_code)
    where s.source_id like '%\_\_spend\_\_ap' escape '\'
      and s.period between m.period_start and m.period_end
    group by s.body_code
),

measured as (
    select
        m.body_code,
        f.back_office_function,
        coalesce(ff.fte, 0)::decimal(12, 2) as fte,
        coalesce(fp.pay_cost_gbp, 0)::decimal(18, 2) as pay_cost_gbp,
        (coalesce(fp.pay_cost_gbp, 0) * 12 / m.months)::decimal(18, 2) as annual_pay_cost_gbp,
        f.unit,
        case f.back_office_function
            when 'HR' then h.employees
            when 'PAYROLL' then ps.payslips
            else pl.lines
        end as units,
        case f.back_office_function
            when 'HR' then h.employees
            when 'PAYROLL' then ps.payslips * 12.0 / m.months
            else pl.lines * 12.0 / m.months
        end as annual_units,
        f.unit_definition,
        m.months,
        m.period_start,
        m.period_end
    from payroll_months as m
    cross join functions as f
    left join function_fte as ff on ff.body_code = m.body_code and ff.back_office_function = f.back_office_function
    left join function_pay as fp on fp.body_code = m.body_code and fp.back_office_function = f.back_office_function
    left join headcount as h on h.body_code = m.body_code
    left join payslips as ps on ps.body_code = m.body_code
    left join payment_lines as pl on pl.body_code = m.body_code
),

unit_costs as (
    select
        *,
        case when annual_units > 0 and annual_pay_cost_gbp > 0
            then (annual_pay_cost_gbp / annual_units)::decimal(18, 4) end as cost_per_unit_gbp
    from measured
),

benchmarks as (
    select
        back_office_function,
        quantile_cont(cost_per_unit_gbp, 0.25)::decimal(18, 4) as best_quartile_cost_per_unit_gbp,
        count(cost_per_unit_gbp) as bodies_compared
    from unit_costs
    group by back_office_function
)

select
    u.body_code,
    u.back_office_function,
    u.fte,
    u.pay_cost_gbp,
    u.annual_pay_cost_gbp,
    u.unit,
    u.units,
    round(u.annual_units, 2)::decimal(18, 2) as annual_units,
    u.cost_per_unit_gbp,
    b.best_quartile_cost_per_unit_gbp,
    b.bodies_compared,
    case when u.cost_per_unit_gbp is not null
        then greatest(0, (u.cost_per_unit_gbp - b.best_quartile_cost_per_unit_gbp) * u.annual_units)::decimal(18, 2)
    end as estimated_annual_saving_gbp,
    'gross pay + employer NI + employer pension of ' || u.back_office_function
        || ' staff, annualised (x 12 / ' || u.months || ' months)' as numerator_definition,
    u.unit || ': ' || u.unit_definition
        || case when u.unit = 'employees' then '' else ', annualised' end as denominator_definition,
    u.period_start,
    u.period_end,
    u.months,
    case
        when u.cost_per_unit_gbp is null then 'No ' || u.unit || ' or no staff cost recorded for this function.'
        when u.cost_per_unit_gbp <= b.best_quartile_cost_per_unit_gbp then
            u.body_code || ' runs ' || u.back_office_function || ' at ' || round(u.cost_per_unit_gbp, 2)
            || ' pounds per ' || rtrim(u.unit, 's') || ', within the best quartile of ' || b.bodies_compared || ' bodies.'
        else
            u.body_code || ' runs ' || u.back_office_function || ' at ' || round(u.cost_per_unit_gbp, 2)
            || ' pounds per ' || rtrim(u.unit, 's') || ' against a best quartile of '
            || round(b.best_quartile_cost_per_unit_gbp, 2) || ': about '
            || round((u.cost_per_unit_gbp - b.best_quartile_cost_per_unit_gbp) * u.annual_units, 0)
            || ' pounds a year if it ran at that cost.'
    end as reason
from unit_costs as u
join benchmarks as b using (back_office_function)
order by u.back_office_function, u.body_code
