{#- The Dagster partition window, set by medallion_platform/defs/dbt.py: the landing days whose files
    this run processes (already widened by the lookback). Without it: every day. By hand:
    MEDALLION_MIN_LANDING_DATE=2026-11-20 MEDALLION_MAX_LANDING_DATE=2026-11-21 dbt build ...
    Environment variables rather than --vars: dbt re-parses the whole project whenever --vars change,
    (seconds per run), while a changed environment variable only re-parses the files that read it. -#}

{#- A bound of the window as the run was given it ('YYYY-MM-DD', or '' without a window): the one
    place the window is read. -#}
{% macro landing_window_setting(variable) -%}
    {{ return(env_var(variable, '')) }}
{%- endmacro %}

{% macro landing_window_is_set() -%}
    {{ return(landing_window_setting('MEDALLION_MIN_LANDING_DATE') != '') }}
{%- endmacro %}

{#- A window bound as a date literal; a value that is not YYYY-MM-DD stops the run naming the variable,
    since it is pasted into SQL. -#}
{% macro landing_window_bound(variable) -%}
    {%- set value = landing_window_setting(variable) -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
        {{ exceptions.raise_compiler_error(variable ~ '=' ~ value ~ ' is not a date (YYYY-MM-DD)') }}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{% macro in_landing_window(column='_landing_date') -%}
    {%- if landing_window_is_set() -%}
        {{ column }} between {{ landing_window_bound('MEDALLION_MIN_LANDING_DATE') }}
                        and {{ landing_window_bound('MEDALLION_MAX_LANDING_DATE') }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
