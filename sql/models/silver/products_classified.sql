{{ config(materialized='view') }}
{#- Every Bronze product row, cleaned, with its fate: valid, superseded or quarantined. -#}

with cleaned as (
    select
        nullif(trim(product_id), '') as product_id,
        nullif({{ title_case('name') }}, '') as product_name,
        nullif({{ title_case('category') }}, '') as category,
        nullif(trim(brand), '') as brand,
        case when price >= 0 then round(price, 2) end as price,
        coalesce(price < 0, false) as has_negative_price,
        {{ parse_integer('trim(stock_quantity)') }} as stock_parsed,
        stock_quantity as stock_given,
        case when rating between 0 and 5 then rating end as rating,
        is_active,
        _source_file,
        _row_number,
        _load_id,
        _landing_date,
        _ingested_at
    from {{ source('bronze', 'products') }}
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
    {{ row_status('product_id', "case when product_id is null then 'missing product_id' end") }} as _status,
    case when product_id is null then 'missing product_id' end as _quarantine_reason,
    _source_file,
    _row_number,
    _load_id,
    _landing_date,
    _ingested_at
from cleaned
