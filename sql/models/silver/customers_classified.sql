{{ config(
    materialized='incremental',
    incremental_strategy='replace_where',
    incremental_predicates=["{{ is_reclassified_version('customers', 'customer_id', this) }}"],
) }}
{#- Every Bronze customer row, cleaned, with its fate: valid, superseded by a later version of its
    customer_id (macros/cleaning.sql: version_order), or quarantined when it has no customer_id. A bad
    field is nulled and flagged, the row stays. Silver customers and its quarantine are views of it.
    Incremental: a run classifies every version of the keys the loads it holds no row of yet carry, and
    those loads' rows, and replaces those rows (macros/entity_keys.sql: is_reclassified_version), instead
    of classifying all of Bronze whenever a customers file lands. A first build and the nightly full refresh
    classify all of Bronze (a date in the future counts from the next full refresh on). -#}
with bronze as {{ inlined() if not is_incremental() }} (
    select * from {{ source('bronze', 'customers') }}
    {%- if is_incremental() %}
    where {{ is_reclassified_version('customers', cleaned_id('customer_id'), this) }}
    {%- endif %}
),

country_aliases as (
    select * from {{ ref('country_aliases') }}
),

cleaned as {{ inlined() }} (
    select
        {{ cleaned_id('bronze.customer_id') }} as customer_id,
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
        {{ parse_calendar_date('bronze.registration_date') }} as registration_date_parsed,
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
    case when registration_date_parsed <= current_date then registration_date_parsed end as registration_date,
    age,
    gender,
    total_purchases,
    _status,
    {{ missing_key_reason('customer_id') }} as _quarantine_reason,
    {{ lineage_columns() }}
from ({{ with_version_status('cleaned', 'customer_id') }}) as classified
