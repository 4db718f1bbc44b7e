{#- Money and quantity arithmetic of the Gold sales models, the same on DuckDB and Snowflake
    (duckdb__ is the DuckDB SQL, default__ the Snowflake SQL). -#}

{#- Sums of money and of quantities in 64-bit types, as the Gold tables store them. DuckDB widens the sum
    of a DECIMAL(12,2) to DECIMAL(38,2) and of an INTEGER to HUGEINT, 128-bit types that every later
    read pays for (the daily totals of a 10M-row fact: 2 s, against 0.1 s in 64 bits); 18 digits hold
    sums up to 10^16. -#}
{% macro money_sum(expression) -%}
    cast(sum({{ expression }}) as decimal(18, 2))
{%- endmacro %}

{% macro quantity_sum(expression) -%}
    cast(sum({{ expression }}) as bigint)
{%- endmacro %}

{#- numerator / denominator rounded half away from zero to cents, as DECIMAL(18, 2), exactly, in integer arithmetic on both
    warehouses: DuckDB divides decimals as DOUBLE, which rounds some ties down; Snowflake divides them to
    6 more decimals, which is exact only while the denominator stays below a million. cents =
    floor((2 * |n| * 100 + |d|) / (2 * |d|)), the floor taken with MOD, so the one division is exact. -#}
{% macro money_ratio(numerator, denominator) -%}
    {{ return(adapter.dispatch('money_ratio', 'medallion')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__money_ratio(numerator, denominator) -%}
    case when ({{ denominator }}) <> 0 then
        cast(
            sign({{ numerator }}) * sign({{ denominator }})
            * cast(
                (abs({{ numerator }}) * 200 + abs({{ denominator }})
                 - mod(abs({{ numerator }}) * 200 + abs({{ denominator }}), 2 * abs({{ denominator }})))
                / (2 * abs({{ denominator }}))
              as number(38, 0))
            / 100
        as number(18, 2))
    end
{%- endmacro %}

{% macro duckdb__money_ratio(numerator, denominator) -%}
    case when ({{ denominator }}) <> 0 then
        cast(
            cast(
                sign({{ numerator }}) * sign({{ denominator }})
                * ((cast(abs({{ numerator }}) * 100 as hugeint) * 2 + abs({{ denominator }}))
                   // (2 * abs({{ denominator }})))
                as decimal(38, 0)
            ) * 0.01
        as decimal(18, 2))
    end
{%- endmacro %}
