{#- Cleaning expressions shared by the Silver models; each dispatches where DuckDB and Snowflake differ. -#}

{% macro title_case(expression) -%}
    {{ return(adapter.dispatch('title_case', 'medallion')(expression)) }}
{%- endmacro %}

{% macro default__title_case(expression) -%}
    initcap(regexp_replace(trim({{ expression }}), '\\s+', ' '))
{%- endmacro %}

{% macro duckdb__title_case(expression) -%}
    list_aggregate(
        list_transform(
            string_split(lower(regexp_replace(trim({{ expression }}), '\s+', ' ', 'g')), ' '),
            w -> upper(w[1]) || w[2:]
        ),
        'string_agg', ' '
    )
{%- endmacro %}

{% macro matches_email(expression) -%}
    {{ return(adapter.dispatch('matches_email', 'medallion')(expression)) }}
{%- endmacro %}

{% macro default__matches_email(expression) -%}
    regexp_like({{ expression }}, '^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$')
{%- endmacro %}

{% macro duckdb__matches_email(expression) -%}
    regexp_full_match({{ expression }}, '^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$')
{%- endmacro %}

{#- The timestamp layouts the store systems are known to send; anything else is unusable. -#}
{% macro parse_feed_timestamp(expression) -%}
    {{ return(adapter.dispatch('parse_feed_timestamp', 'medallion')(expression)) }}
{%- endmacro %}

{% macro default__parse_feed_timestamp(expression) -%}
    coalesce(
        try_to_timestamp({{ expression }}, 'YYYY-MM-DD HH24:MI:SS'),
        try_to_timestamp({{ expression }}, 'YYYY-MM-DD"T"HH24:MI:SS'),
        try_to_timestamp({{ expression }}, 'YYYY/MM/DD HH24:MI:SS'),
        try_to_timestamp({{ expression }}, 'YYYY-MM-DD')
    )
{%- endmacro %}

{% macro duckdb__parse_feed_timestamp(expression) -%}
    try_strptime({{ expression }}, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S', '%Y/%m/%d %H:%M:%S', '%Y-%m-%d'])
{%- endmacro %}

{% macro parse_feed_date(expression) -%}
    cast({{ parse_feed_timestamp(expression) }} as date)
{%- endmacro %}

{#- Latest version wins: the row loaded last, and within a file the row written last. -#}
{% macro version_rank(key) -%}
    row_number() over (partition by {{ key }} order by _load_id desc, _row_number desc)
{%- endmacro %}

{#- All the reasons that apply, '; '-separated, or null when none does (NULL-safe on both warehouses). -#}
{% macro join_reasons(conditions) -%}
    nullif(rtrim(
        {%- for condition in conditions %}
        coalesce(({{ condition }}) || '; ', ''){{ ' ||' if not loop.last }}
        {%- endfor %}
    , '; '), '')
{%- endmacro %}

{#- Whether a row is the live version, superseded by a later one, or quarantined for `reason`. -#}
{% macro row_status(key, reason) -%}
    case
        when {{ key }} is null then 'quarantined'
        when {{ version_rank(key) }} > 1 then 'superseded'
        when {{ reason }} is not null then 'quarantined'
        else 'valid'
    end
{%- endmacro %}

{#- numerator / denominator rounded half away from zero to cents, exactly. Snowflake divides decimals
    exactly; DuckDB divides them as DOUBLE, which rounds some ties down, so it uses integer arithmetic. -#}
{% macro money_ratio(numerator, denominator) -%}
    {{ return(adapter.dispatch('money_ratio', 'medallion')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__money_ratio(numerator, denominator) -%}
    round(({{ numerator }}) / nullif({{ denominator }}, 0), 2)
{%- endmacro %}

{% macro duckdb__money_ratio(numerator, denominator) -%}
    case when ({{ denominator }}) <> 0 then
        cast(
            sign({{ numerator }}) * sign({{ denominator }})
            * ((cast(abs({{ numerator }}) * 100 as hugeint) * 2 + abs({{ denominator }}))
               // (2 * abs({{ denominator }})))
            as decimal(38, 0)
        ) * 0.01
    end
{%- endmacro %}
