{#- The cleaning expressions and version rules the Silver models share. Where DuckDB and Snowflake
    differ an expression dispatches: duckdb__ is the DuckDB SQL, default__ the Snowflake SQL (dbt-snowflake
    finds no snowflake__ variant and takes default__). Both must give the same values on the same Bronze
    rows: medallion_platform_tests/test_snowflake_dbt.py compares them (Snowflake played by fakesnow). -#}

{#- An id as Silver reads it: trimmed, empty as missing. -#}
{% macro cleaned_id(expression) -%}
    nullif(trim({{ expression }}), '')
{%- endmacro %}

{% macro title_case(expression) -%}
    {{ return(adapter.dispatch('title_case', 'medallion')(expression)) }}
{%- endmacro %}

{#- Words are what spaces separate, as in the DuckDB variant: INITCAP's default delimiters also
    include punctuation ('smart-watch' would become 'Smart-Watch'), so the delimiter is given. -#}
{% macro default__title_case(expression) -%}
    initcap(lower(regexp_replace(trim({{ expression }}), '\\s+', ' ')), ' ')
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

{#- A calendar date as DuckDB's TRY_CAST to DATE reads one: year-month-day with '-' or '/', optionally
    followed by a time of day, which is dropped; anything else (an impossible day such as 2021-02-30) is NULL.
    Snowflake's TRY_CAST would read more (DATE_INPUT_FORMAT AUTO also takes MM/DD/YYYY and DD-MON-YYYY),
    so the layouts are spelled out. DuckDB's exotic forms ('infinity', '2024-05-06 BC') stay NULL here. -#}
{% macro parse_calendar_date(expression) -%}
    {{ return(adapter.dispatch('parse_calendar_date', 'medallion')(expression)) }}
{%- endmacro %}

{% macro default__parse_calendar_date(expression) -%}
    cast(coalesce(
        try_to_timestamp(trim({{ expression }}), 'YYYY-MM-DD'),
        try_to_timestamp(trim({{ expression }}), 'YYYY/MM/DD'),
        try_to_timestamp(trim({{ expression }}), 'YYYY-MM-DD HH24:MI:SS'),
        try_to_timestamp(trim({{ expression }}), 'YYYY-MM-DD"T"HH24:MI:SS'),
        try_to_timestamp(trim({{ expression }}), 'YYYY/MM/DD HH24:MI:SS')
    ) as date)
{%- endmacro %}

{% macro duckdb__parse_calendar_date(expression) -%}
    try_cast({{ expression }} as date)
{%- endmacro %}

{#- A whole number in DuckDB's INTEGER range (32 bits), or NULL: a decimal rounds half away from zero on
    both warehouses; Snowflake's INTEGER is NUMBER(38,0), so the range is checked explicitly. -#}
{% macro parse_integer(expression) -%}
    {{ return(adapter.dispatch('parse_integer', 'medallion')(expression)) }}
{%- endmacro %}

{% macro default__parse_integer(expression) -%}
    case when try_cast({{ expression }} as number(38, 0)) between -2147483648 and 2147483647
        then try_cast({{ expression }} as number(38, 0)) end
{%- endmacro %}

{% macro duckdb__parse_integer(expression) -%}
    try_cast({{ expression }} as integer)
{%- endmacro %}

{#- Latest version wins, by the data's own time, never by when a run happened to load it: the latest
    landing day, then the object landed last that day (its last-modified time; the key breaks a tie),
    then the record written last in its file, then the later load of the same object. So days loaded in
    any order, a late file for an older day, or an object reverted to earlier content all give the
    Silver of one run over every file. The Bronze loaders fill every one of these columns. -#}
{% macro version_order() -%}
    {{ return(file_order() + ['_row_number', '_load_id']) }}
{%- endmacro %}

{#- The order of the landed files among themselves: the first part of version_order. -#}
{% macro file_order() -%}
    {{ return(['_landing_date', '_file_last_modified', '_source_file']) }}
{%- endmacro %}

{#- All the reasons that apply, '; '-separated, or null when none does. Each condition is a reason or NULL;
    CONCAT_WS will not do: Snowflake's returns NULL when any argument is NULL. -#}
{% macro join_reasons(conditions) -%}
    {{ return(adapter.dispatch('join_reasons', 'medallion')(conditions)) }}
{%- endmacro %}

{#- ARRAY_CONSTRUCT_COMPACT leaves the NULLs out. -#}
{% macro default__join_reasons(conditions) -%}
    nullif(array_to_string(array_construct_compact(
        {%- for condition in conditions %}
        ({{ condition }}){{ ',' if not loop.last }}
        {%- endfor %}
    ), '; '), '')
{%- endmacro %}

{% macro duckdb__join_reasons(conditions) -%}
    nullif(rtrim(
        {%- for condition in conditions %}
        coalesce(({{ condition }}) || '; ', ''){{ ' ||' if not loop.last }}
        {%- endfor %}
    , '; '), '')
{%- endmacro %}

{#- The rows of `versions` (a relation with the cleaned `key`, the reason column `reason` if the entity has
    other quarantine rules, and the lineage columns), each with its `_status`: the live version of its key,
    superseded by a later one (version_order), or quarantined. -#}
{% macro with_version_status(versions, key, reason=none) -%}
    {{ return(adapter.dispatch('with_version_status', 'medallion')(versions, key, reason)) }}
{%- endmacro %}

{#- Snowflake numbers each key's versions with a window. -#}
{% macro default__with_version_status(versions, key, reason) -%}
select
    *,
    {{ version_status(key,
        'row_number() over (partition by ' ~ key ~ ' order by ' ~ version_order() | join(' desc, ') ~ ' desc) > 1',
        reason) }} as _status
from {{ versions }}
{%- endmacro %}

{#- DuckDB's window operator does not spill: numbering all 20M transactions of a scale-1.0 first build
    needs more memory than a 3 GB limit allows. Its hash aggregate and hash join do spill, so each key's
    latest version is found as a maximum and joined back. The maximum is over whole numbers only, as text
    in an aggregate's state does not spill either: a version is its file's rank in file_order (one per
    load), then the rest of version_order, its row number and its load id; a row is the latest when its
    load and row number are the maximum's. `versions` is read three times, the others for the key and the
    lineage columns alone: a CTE passed here is declared `as {{ inlined() }} (...)`, so those reads
    compute only those columns (and so are the CTEs it reads, when they hold all of Bronze). -#}
{% macro duckdb__with_version_status(versions, key, reason) -%}
select
    {{ versions }}.*,
    {{ version_status(versions ~ '.' ~ key,
        '(' ~ versions ~ '._load_id, ' ~ versions ~ '._row_number) <> (latest_versions.version._load_id, latest_versions.version._row_number)',
        reason) }} as _status
from {{ versions }}
left join (
    select
        {{ versions }}.{{ key }},
        max(struct_pack(files_in_order.file_rank, {{ versions }}._row_number, {{ versions }}._load_id)) as version
    from {{ versions }}
    inner join (
        select _load_id, dense_rank() over (order by {{ file_order() | join(', ') }}) as file_rank
        from (select distinct _load_id, {{ file_order() | join(', ') }} from {{ versions }}) as loads
    ) as files_in_order
        on {{ versions }}._load_id = files_in_order._load_id
    where {{ versions }}.{{ key }} is not null
    group by {{ versions }}.{{ key }}
) as latest_versions
    on {{ versions }}.{{ key }} = latest_versions.{{ key }}
{%- endmacro %}

{% macro version_status(key, superseded, reason) -%}
    case
        when {{ key }} is null then 'quarantined'
        when {{ superseded }} then 'superseded'
        {%- if reason is not none %}
        when {{ reason }} is not null then 'quarantined'
        {%- endif %}
        else 'valid'
    end
{%- endmacro %}

{#- How a CTE that with_version_status reads more than once is declared: DuckDB materializes such a CTE,
    every row and column of it; inlined, each read computes only the columns it uses. -#}
{% macro inlined() -%}
    {{ return(adapter.dispatch('inlined', 'medallion')()) }}
{%- endmacro %}

{% macro default__inlined() -%}{%- endmacro %}

{% macro duckdb__inlined() -%}
    not materialized
{%- endmacro %}

{#- The reason a row without its key is quarantined. -#}
{% macro missing_key_reason(key) -%}
    case when {{ key }} is null then 'missing {{ key }}' end
{%- endmacro %}
