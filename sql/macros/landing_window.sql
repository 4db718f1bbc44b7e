{#- The Dagster partition window, set by medallion_platform/defs/dbt.py: the landing days whose files
    this run processes (already widened by the lookback). Without it: every day. By hand:
    MEDALLION_MIN_LANDING_DATE=2026-11-20 MEDALLION_MAX_LANDING_DATE=2026-11-21 dbt build ...
    Environment variables rather than --vars: dbt re-parses the whole project whenever --vars change,
    (seconds per run), while a changed environment variable only re-parses the files that read it. -#}
{% macro landing_window_is_set() -%}
    {{ return(env_var('MEDALLION_MIN_LANDING_DATE', '') != '') }}
{%- endmacro %}

{% macro in_landing_window(column='_landing_date') -%}
    {%- if landing_window_is_set() -%}
        {{ column }} between cast('{{ env_var("MEDALLION_MIN_LANDING_DATE") }}' as date)
                        and cast('{{ env_var("MEDALLION_MAX_LANDING_DATE") }}' as date)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Transactions whose latest version in Bronze is now quarantined, among the ids the window revisits:
    an incremental Silver run removes them (the merge only inserts valid ones). -#}
{% macro drop_transactions_no_longer_valid() -%}
    delete from {{ this }}
    where transaction_id in (
        select transaction_id from ({{ classified_transactions(keys_in_window=true) }}) as revisited
        where _status = 'quarantined' and transaction_id is not null
    )
{%- endmacro %}

{#- A sales date as the period a Gold fact groups it by: 'day' or 'month'. -#}
{% macro sales_period(date_expression, period) -%}
    {%- if period == 'month' -%}
        cast({{ dbt.date_trunc('month', date_expression) }} as date)
    {%- else -%}
        {{ date_expression }}
    {%- endif -%}
{%- endmacro %}

{#- A (period, product, customer) group as one value, for a plain IN: a sale may name no customer or
    product, which a tuple IN would never match. Values that collide ('a|b' + 'c' and 'a' + 'b|c') only
    make a run rebuild a group more: the same key decides what is deleted and what is rebuilt. -#}
{% macro sales_group_key(period_expression) -%}
    concat(cast({{ period_expression }} as varchar), '|', coalesce(product_id, ''), '|', coalesce(customer_id, ''))
{%- endmacro %}

{#- The groups any version of a revisited transaction falls in: a correction can move a sale to another
    day, product or customer, so the group it leaves changes too. -#}
{% macro revisited_sales_groups(period) -%}
    select {{ sales_group_key(sales_period('transaction_date', period)) }}
    from ({{ classified_transactions(keys_in_window=true) }}) as versions
    where transaction_id is not null and transaction_date is not null
{%- endmacro %}

{#- Whether a sales row, or a Gold fact row, is in a group (period, product, customer) this run's files
    can change: its customer or product has a version in the window (their attributes are in the facts),
    or a revisited transaction falls in the group. `period_column` is the row's period, `period` 'day' or
    'month'; the row's ids are its unqualified product_id and customer_id. The facts apply it to the rows
    they delete and to the sales they rebuild from, so every group deleted is rebuilt from the sales it
    has now. Uncorrelated subqueries only: each is computed once and probed by hash. -#}
{% macro in_sales_groups_to_rebuild(period_column, period) -%}
    (customer_id in ({{ keys_in_landing_window('customers') }})
     or product_id in ({{ keys_in_landing_window('products') }})
     or {{ sales_group_key(period_column) }} in ({{ revisited_sales_groups(period) }}))
{%- endmacro %}
