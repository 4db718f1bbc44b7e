{{ config(
    materialized='incremental',
    incremental_strategy='replace_where',
    incremental_predicates=["{{ is_reclassified_version('products', 'product_id', this) }}"],
) }}
{#- Every Bronze product row, cleaned, with its fate: valid, superseded by a later version of its
    product_id (macros/cleaning.sql: version_order), or quarantined when it has no product_id. A bad
    price or stock is nulled and flagged, the row stays. Silver products and its quarantine are views of it.
    Incremental: a run classifies every version of the keys the loads it holds no row of yet carry, and
    those loads' rows, and replaces those rows (macros/entity_keys.sql: is_reclassified_version), instead
    of classifying all of Bronze whenever a products file lands. A first build and the nightly full refresh
    classify all of Bronze. -#}
with bronze as {{ inlined() if not is_incremental() }} (
    select * from {{ source('bronze', 'products') }}
    {%- if is_incremental() %}
    where {{ is_reclassified_version('products', cleaned_id('product_id'), this) }}
    {%- endif %}
),

cleaned as {{ inlined() }} (
    select
        {{ cleaned_id('product_id') }} as product_id,
        nullif({{ title_case('name') }}, '') as product_name,
        nullif({{ title_case('category') }}, '') as category,
        nullif(trim(brand), '') as brand,
        case when price >= 0 then round(price, 2) end as price,
        coalesce(price < 0, false) as has_negative_price,
        {{ parse_integer('trim(stock_quantity)') }} as stock_parsed,
        stock_quantity as stock_given,
        case when rating between 0 and 5 then rating end as rating,
        is_active,
        {{ lineage_columns() }}
    from bronze
)

select
    product_id,
    product_name,
    category,
    brand,
    price,
    has_negative_price,
    case when stock_parsed < 0 then 0 else stock_parsed end as stock_quantity,
    (stock_given is not null and stock_parsed is null) as has_invalid_stock,
    rating,
    is_active,
    _status,
    {{ missing_key_reason('product_id') }} as _quarantine_reason,
    {{ lineage_columns() }}
from ({{ with_version_status('cleaned', 'product_id') }}) as classified
