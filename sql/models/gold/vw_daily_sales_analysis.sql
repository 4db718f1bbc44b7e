{{ config(
    materialized='incremental',
    incremental_strategy='append',
    tags=['partitioned_by_landing_day'],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ in_sales_groups_to_rebuild('transaction_date', 'day') }}{% endif %}",
) }}
-- The groups to rebuild are read from the window's Bronze rows (see macros/landing_window.sql):
-- depends_on: {{ source('bronze', 'transactions') }}
-- depends_on: {{ source('bronze', 'customers') }}
-- depends_on: {{ source('bronze', 'products') }}
{# Daily sales per product and customer, as the seed systems' view of the same name.
    Incremental: a run deletes and rebuilds only the (date, product, customer) rows its files can change. -#}
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
where {{ in_sales_groups_to_rebuild('transaction_date', 'day') }}
{% endif %}
group by transaction_date, product_id, product_name, product_category, customer_id, customer_type
