{#- The Dagster partition window, set by medallion_platform/defs/dbt.py: the landing days whose files
    this run processes (already widened by the lookback). Without it: every day. By hand:
    MEDALLION_MIN_LANDING_DATE=2026-11-20 MEDALLION_MAX_LANDING_DATE=2026-11-21 dbt build ...
    Environment variables rather than --vars: dbt re-parses the whole project whenever --vars change,
    (seconds per run), while a changed environment variable only re-parses the files that read it. -#}
{% macro landing_window_is_set() -%}
    {{ return(env_var('MEDALLION_MIN_LANDING_DATE', '') != '') }}
{%- endmacro %}

{#- A window bound as a date literal; a value that is not YYYY-MM-DD stops the run naming the variable,
    since it is pasted into SQL. -#}
{% macro landing_window_bound(variable) -%}
    {%- set value = env_var(variable, '') -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
        {{ exceptions.raise_compiler_error(variable ~ '=' ~ value ~ ' is not a date (YYYY-MM-DD)') }}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{% macro in_landing_window(column='_landing_date') -%}
    {%- if landing_window_is_set() -%}
        {{ column }} between {{ landing_window_bound('MEDALLION_MIN_LANDING_DATE') }}
                        and {{ landing_window_bound('MEDALLION_MAX_LANDING_DATE') }}
    {%- else -%}
        true
    {%- endif -%}
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
    product, which a tuple IN would never match, and HASH (the same function on DuckDB and Snowflake)
    takes NULLs. One 64-bit integer is also the cheapest key to probe for millions of rows. Two groups
    with the same hash only make a run rebuild a group more: the same key decides what is deleted and
    what is rebuilt. -#}
{% macro sales_group_key(period_expression) -%}
    hash({{ period_expression }}, product_id, customer_id)
{%- endmacro %}

{#- The transactions a run's files can change: those with a version in the window's files, and those
    of a customer or product with a version there (silver.transactions records whether their customer
    and product are known; the Gold facts carry their attributes). The second part reads Silver as the
    previous run left it (`silver_transactions`, the relation), as an incremental model reads itself:
    named, not ref()'d, since silver.transactions is built on the model that calls this
    (transactions_revisited). -#}
{% macro revisited_transaction_ids(silver_transactions) -%}
    {{ keys_in_landing_window('transactions') }}
    union
    select transaction_id from {{ silver_transactions }}
    where customer_id in ({{ keys_in_landing_window('customers') }})
       or product_id in ({{ keys_in_landing_window('products') }})
{%- endmacro %}

{#- The (period, product, customer) groups this run's files can change, each as sales_period,
    product_id, customer_id: every group a version of a revisited transaction falls in. A correction can
    move a sale to another day, product or customer, so the group it leaves changes too; a customer or
    product with a version in the window brings all its transactions (revisited_transaction_ids). -#}
{% macro sales_groups_to_rebuild(period) -%}
    select {{ sales_period('transaction_date', period) }} as sales_period, product_id, customer_id
    from {{ ref('transactions_revisited') }}
    where transaction_id is not null and transaction_date is not null
{%- endmacro %}

{#- Whether a sales row, or a Gold fact row, is in a group sales_groups_to_rebuild lists. `period_column`
    is the row's period, `period` 'day' or 'month'; the row's ids are its unqualified product_id and
    customer_id. The facts apply it to the rows they delete and to the sales they rebuild from, so every
    group deleted is rebuilt from the sales it has now. The period test comes first: a plain column
    against a few values, which the warehouse applies while it scans (on DuckDB it skips the row groups
    of other days), so the group key is only computed for the rows of those periods. -#}
{% macro in_sales_groups_to_rebuild(period_column, period) -%}
    ({{ period_column }} in (select sales_period from ({{ sales_groups_to_rebuild(period) }}) as groups)
     and {{ sales_group_key(period_column) }} in (
         select {{ sales_group_key('sales_period') }} from ({{ sales_groups_to_rebuild(period) }}) as groups))
{%- endmacro %}

{#- The Silver transactions a Gold fact aggregates, for enrich_sales: on an incremental run only the
    sales of the groups it rebuilds, filtered before the attribute joins. -#}
{% macro sales_to_aggregate(period) -%}
    {%- if is_incremental() -%}
    (select * from {{ ref('transactions') }}
     where {{ in_sales_groups_to_rebuild(sales_period('transaction_date', period), period) }})
    {%- else -%}
    {{ ref('transactions') }}
    {%- endif -%}
{%- endmacro %}
