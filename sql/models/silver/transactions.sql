{{ config(
    materialized='incremental',
    unique_key='transaction_id',
    incremental_strategy='delete+insert',
    tags=['partitioned_by_landing_day'],
    post_hook="{% if is_incremental() %}{{ drop_transactions_no_longer_valid() }}{% endif %}",
) }}
{#- One row per transaction: the latest version, when it is usable. Orphans (unknown customer or
    product) stay and are flagged, so revenue never vanishes in a join.
    Incremental, as a MERGE on transaction_id: a run revisits only the ids with a version in the
    window's files, classified against all their versions and nothing else (macros/classification.sql);
    the post-hook removes ids whose latest version is now quarantined. -#}
with valid as (
    {% if is_incremental() %}
    select * from ({{ classified_transactions(keys_in_window=true) }}) as revisited
    {% else %}
    select * from {{ ref('transactions_classified') }}
    {% endif %}
    where _status = 'valid'
)

select
    valid.transaction_id,
    valid.customer_id,
    valid.product_id,
    valid.quantity,
    valid.total_amount,
    valid.transaction_at,
    valid.transaction_date,
    valid.payment_method,
    valid.store_type,
    customers.customer_id is not null as has_known_customer,
    products.product_id is not null as has_known_product,
    valid._source_file,
    valid._load_id,
    valid._landing_date,
    valid._ingested_at
from valid
left join {{ ref('customers') }} as customers on valid.customer_id = customers.customer_id
left join {{ ref('products') }} as products on valid.product_id = products.product_id
