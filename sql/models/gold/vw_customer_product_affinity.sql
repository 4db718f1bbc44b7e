{{ config(
    materialized='incremental',
    incremental_strategy='append',
    tags=['partitioned_by_landing_day'],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where purchase_month in ({{ sales_months_to_rebuild() }}){% endif %}",
) }}
-- The dates to rebuild come from these (see macros/landing_window.sql):
-- depends_on: {{ ref('transactions_classified') }}
-- depends_on: {{ ref('transactions') }}
-- depends_on: {{ ref('customers_classified') }}
-- depends_on: {{ ref('products_classified') }}
{# What each customer buys of each product, month by month, as the seed systems' view of the same name.
    Incremental by month window: a run deletes and rebuilds only the months its files can change. -#}
select
    customer_id,
    customer_type,
    product_id,
    product_name,
    product_category,
    cast({{ dbt.date_trunc('month', 'transaction_date') }} as date) as purchase_month,
    count(distinct transaction_id) as purchase_count,
    sum(quantity) as total_quantity,
    sum(total_amount) as total_spent,
    {{ money_ratio('sum(total_amount)', 'count(total_amount)') }} as avg_purchase_amount,
    {{ dbt.datediff('min(transaction_date)', 'max(transaction_date)', 'day') }} as days_between_first_last_purchase
from {{ ref('sales_enriched') }}
{% if is_incremental() %}
where cast({{ dbt.date_trunc('month', 'transaction_date') }} as date) in ({{ sales_months_to_rebuild() }})
{% endif %}
group by
    customer_id,
    customer_type,
    product_id,
    product_name,
    product_category,
    cast({{ dbt.date_trunc('month', 'transaction_date') }} as date)
