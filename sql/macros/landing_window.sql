{#- The Dagster partition window, set by medallion_platform/defs/dbt.py: the landing days whose files
    this run processes (already widened by the lookback). Without it: every day. By hand:
    MEDALLION_MIN_LANDING_DATE=2026-11-20 MEDALLION_MAX_LANDING_DATE=2026-11-21 dbt build ...
    Environment variables rather than --vars: dbt re-parses the whole project whenever --vars change,
    (seconds per run), while a changed environment variable only re-parses the files that read it. -#}
{% macro in_landing_window(column='_landing_date') -%}
    {%- if env_var('MEDALLION_MIN_LANDING_DATE', '') != '' -%}
        {{ column }} between cast('{{ env_var("MEDALLION_MIN_LANDING_DATE") }}' as date)
                        and cast('{{ env_var("MEDALLION_MAX_LANDING_DATE") }}' as date)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Transaction ids with a version in the window's files: what an incremental Silver run revisits. -#}
{% macro transaction_ids_in_window() -%}
    select transaction_id from {{ ref('transactions_classified') }}
    where transaction_id is not null and {{ in_landing_window() }}
{%- endmacro %}

{#- The sales dates whose Gold rows can change in this run: every date any version of a revisited
    transaction carries (a correction may move a sale from one day to another), and the dates of sales
    by customers or to products whose attributes arrived in the window. -#}
{% macro sales_dates_to_rebuild() -%}
    select transaction_date from {{ ref('transactions_classified') }}
    where transaction_date is not null
      and transaction_id in ({{ transaction_ids_in_window() }})
    union
    select transaction_date from {{ ref('transactions') }}
    where customer_id in (
            select customer_id from {{ ref('customers_classified') }} where {{ in_landing_window() }})
       or product_id in (
            select product_id from {{ ref('products_classified') }} where {{ in_landing_window() }})
{%- endmacro %}

{% macro drop_transactions_no_longer_valid() -%}
    delete from {{ this }}
    where transaction_id in (
        select transaction_id from {{ ref('transactions_classified') }}
        where _status = 'quarantined' and transaction_id in ({{ transaction_ids_in_window() }})
    )
{%- endmacro %}

{% macro sales_months_to_rebuild() -%}
    select cast({{ dbt.date_trunc('month', 'transaction_date') }} as date)
    from ({{ sales_dates_to_rebuild() }}) as dates_to_rebuild
{%- endmacro %}
