{{ config(
    materialized='incremental',
    incremental_strategy='append',
    tags=['partitioned_by_landing_day'],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where transaction_date in ({{ sales_dates_to_rebuild() }}){% endif %}",
) }}
-- The dates to rebuild come from these (see macros/landing_window.sql):
-- depends_on: {{ ref('transactions_classified') }}
-- depends_on: {{ ref('transactions') }}
-- depends_on: {{ ref('customers_classified') }}
-- depends_on: {{ ref('products_classified') }}
{# Daily sales per product and customer, as the seed systems' view of the same name.
    Incremental by date window: a run deletes and rebuilds only the dates its files can change. -#}
select
    transaction_date,
    product_id,
    product_name,
    product_category,
    customer_id,
    customer_type,
    sum(quantity) as total_quantity,
    sum(total_amount) as total_sales,
    count(distinct transaction_id) as num_transactions,
    {{ money_ratio('sum(total_amount)', 'sum(quantity)') }} as avg_price_per_unit,
    {{ money_ratio('sum(total_amount)', 'count(distinct transaction_id)') }} as avg_transaction_value
from {{ ref('sales_enriched') }}
{% if is_incremental() %}
where transaction_date in ({{ sales_dates_to_rebuild() }})
{% endif %}
group by transaction_date, product_id, product_name, product_category, customer_id, customer_type
