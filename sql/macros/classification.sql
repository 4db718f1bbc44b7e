{#- The Silver rules, one macro per entity: every Bronze row cleaned and given its fate (valid, superseded
    or quarantined, with every reason that applies). The *_classified views are these macros over all of
    Bronze; an incremental run passes `keys`, a query of the keys it revisits, and they rank only the
    versions of those keys: every version of them (the latest decides), no other key's, so the work
    follows the new files rather than the whole history. -#}

{#- The Bronze lineage every classified row carries on: which file and row it came from, and when. -#}
{% macro lineage_columns(prefix='') -%}
    {{ prefix }}_source_file, {{ prefix }}_row_number, {{ prefix }}_load_id, {{ prefix }}_landing_date, {{ prefix }}_file_last_modified,
    {{ prefix }}_ingested_at
{%- endmacro %}

{#- The Bronze column that identifies an entity's versions. -#}
{% macro entity_key(entity) -%}
    {{ return({'customers': 'customer_id', 'products': 'product_id', 'transactions': 'transaction_id'}[entity]) }}
{%- endmacro %}

{#- A key as Silver reads it: trimmed, empty as missing. -#}
{% macro cleaned_key(entity) -%}
    nullif(trim({{ entity_key(entity) }}), '')
{%- endmacro %}

{#- The keys with a version in the landing window's files. -#}
{% macro keys_in_landing_window(entity) -%}
    select {{ cleaned_key(entity) }} from {{ source('bronze', entity) }}
    where {{ in_landing_window() }} and {{ cleaned_key(entity) }} is not null
{%- endmacro %}

{#- The entity's Bronze rows: all (keys none), or every version of the keys the query `keys` returns.
    The key filter comes before the version ranking, so the ranking reads only those keys' rows. -#}
{% macro bronze_versions(entity, keys=none) -%}
    select * from {{ source('bronze', entity) }}
    {%- if keys is not none %}
    where {{ cleaned_key(entity) }} in ({{ keys }})
    {%- endif %}
{%- endmacro %}

{% macro classified(entity, keys=none) -%}
    {%- if entity == 'customers' -%} {{ classified_customers(keys) }}
    {%- elif entity == 'products' -%} {{ classified_products(keys) }}
    {%- else -%} {{ classified_transactions(keys) }}
    {%- endif -%}
{%- endmacro %}

{#- _status and _quarantine_reason of an entity whose only quarantine rule is a missing key
    (customers and products: a bad field is nulled and flagged, the row stays). -#}
{% macro key_only_status(key) -%}
    {%- set reason = "case when " ~ key ~ " is null then 'missing " ~ key ~ "' end" -%}
    {{ row_status(key, reason) }} as _status,
    {{ reason }} as _quarantine_reason
{%- endmacro %}

{% macro classified_customers(keys=none) -%}
with bronze as (
    {{ bronze_versions('customers', keys) }}
),

country_aliases as (
    select * from {{ ref('country_aliases') }}
),

cleaned as (
    select
        {{ cleaned_key('customers') }} as customer_id,
        nullif({{ title_case('bronze.name') }}, '') as name,
        nullif(lower(trim(bronze.email)), '') as email_given,
        coalesce(
            country_aliases.country,
            case
                when upper(trim(bronze.country)) in ('', 'UNKNOWN', 'N/A', 'NONE') then null
                else {{ title_case('bronze.country') }}
            end
        ) as country,
        case
            when upper(trim(bronze.customer_type)) in ('REGULAR', 'REG', 'R') then 'Regular'
            when upper(trim(bronze.customer_type)) in ('PREMIUM', 'PREM', 'P') then 'Premium'
            when upper(trim(bronze.customer_type)) = 'VIP' then 'VIP'
            else 'Unknown'
        end as customer_type,
        case
            when {{ parse_calendar_date('bronze.registration_date') }} <= current_date
                then {{ parse_calendar_date('bronze.registration_date') }}
        end as registration_date,
        case when bronze.age between 18 and 120 then bronze.age end as age,
        case
            when upper(trim(bronze.gender)) in ('M', 'MALE') then 'Male'
            when upper(trim(bronze.gender)) in ('F', 'FEMALE') then 'Female'
            else 'Other'
        end as gender,
        case when bronze.total_purchases < 0 then 0 else bronze.total_purchases end as total_purchases,
        {{ lineage_columns('bronze.') }}
    from bronze
    left join country_aliases
        on upper(trim(bronze.country)) = country_aliases.alias
)

select
    customer_id,
    name,
    case when {{ matches_email('email_given') }} then email_given end as email,
    coalesce({{ matches_email('email_given') }}, false) as has_valid_email,
    email_given,
    country,
    customer_type,
    registration_date,
    age,
    gender,
    total_purchases,
    {{ key_only_status('customer_id') }},
    {{ lineage_columns() }}
from cleaned
{%- endmacro %}

{% macro classified_products(keys=none) -%}
with cleaned as (
    select
        {{ cleaned_key('products') }} as product_id,
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
    from ({{ bronze_versions('products', keys) }}) as bronze
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
    {{ key_only_status('product_id') }},
    {{ lineage_columns() }}
from cleaned
{%- endmacro %}

{#- The latest version of an id decides: a bad correction quarantines, it does not resurrect the old one. -#}
{% macro classified_transactions(keys=none) -%}
with parsed as (
    select
        {{ cleaned_key('transactions') }} as transaction_id,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(product_id), '') as product_id,
        quantity,
        total_amount,
        transaction_date as transaction_date_given,
        {{ parse_feed_timestamp('transaction_date') }} as transaction_at,
        nullif(trim(payment_method), '') as payment_method,
        nullif(trim(store_type), '') as store_type,
        {{ lineage_columns() }}
    from ({{ bronze_versions('transactions', keys) }}) as bronze
),

checked as (
    select
        *,
        {{ join_reasons([
            "case when transaction_id is null then 'missing transaction_id' end",
            "case when total_amount is null then 'missing total_amount' when total_amount <= 0 then 'total_amount <= 0' end",
            "case when quantity is null then 'missing quantity' when quantity <= 0 then 'quantity <= 0' end",
            "case when nullif(trim(transaction_date_given), '') is null then 'missing transaction_date'
                  when transaction_at is null then 'unparseable transaction_date' end",
        ]) }} as _quarantine_reason
    from parsed
),

classified as (
    select
        *,
        {{ row_status('transaction_id', '_quarantine_reason') }} as _status
    from checked
)

select
    transaction_id,
    customer_id,
    product_id,
    quantity,
    total_amount,
    transaction_date_given,
    transaction_at,
    cast(transaction_at as date) as transaction_date,
    payment_method,
    store_type,
    _status,
    case when _status = 'quarantined' then _quarantine_reason end as _quarantine_reason,
    {{ lineage_columns() }}
from classified
{%- endmacro %}
