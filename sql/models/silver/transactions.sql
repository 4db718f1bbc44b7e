{{ config(
    materialized='incremental',
    incremental_strategy='replace_where',
    incremental_predicates=["transaction_id in (select transaction_id from {{ ref('transactions_revisited') }})"],
    tags=['partitioned_by_landing_day'],
) }}
{#- One row per transaction: the latest version, when it is usable. Orphans (unknown customer or
    product) stay and are flagged, so revenue never vanishes in a join.
    Merged on transaction_id from what the run revisits (transactions_revisited): a run replaces every
    id it revisits with its valid latest version, so an id whose latest version is now quarantined
    leaves (macros/replace_where.sql). When this table is built whole (a first build, a full refresh),
    transactions_revisited, built just before it in the same run, holds every Bronze row. -#}
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
from {{ ref('transactions_revisited') }} as valid
left join {{ ref('customers') }} as customers on valid.customer_id = customers.customer_id
left join {{ ref('products') }} as products on valid.product_id = products.product_id
where valid._status = 'valid'
