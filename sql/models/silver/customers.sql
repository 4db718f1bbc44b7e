{{ config(materialized='view') }}
{#- One row per customer: the latest version. Customers with a bad email stay (email null,
    has_valid_email false), so their sales still count in Gold. -#}
select
    customer_id,
    name,
    email,
    has_valid_email,
    country,
    customer_type,
    registration_date,
    age,
    gender,
    total_purchases,
    _source_file,
    _load_id,
    _ingested_at
from {{ ref('customers_classified') }}
where _status = 'valid'
