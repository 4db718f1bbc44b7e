{{ config(materialized='view') }}
{#- One row per product: the latest version. A bad price or stock is nulled and flagged, the
    product stays, so its sales still count in Gold. -#}
select
    product_id,
    product_name,
    category,
    brand,
    price,
    has_negative_price,
    stock_quantity,
    has_invalid_stock,
    rating,
    is_active,
    _source_file,
    _load_id,
    _ingested_at
from {{ ref('products_classified') }}
where _status = 'valid'
