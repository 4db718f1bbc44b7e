{#- Stock against recent demand, per catalogue product. Demand is the units sold in the 30 days
    ending at as_of_date, the latest transaction_date in Silver (as_of_date - 29 .. as_of_date), so the
    same data always gives the same answer. days_of_cover = stock / (units_sold_30d / 30), NULL when
    nothing sold. is_low_stock is true when stock is 0, when stock is unknown (NULL: the feed sent
    something that is not a number, so it needs counting), or when days_of_cover < 7; a product in stock
    that did not sell is not low. The flag compares integers (stock * 30 < 7 * units), exactly. -#}
with as_of as (
    select max(transaction_date) as as_of_date
    from {{ ref('transactions') }}
),

units_30d as (
    select
        transactions.product_id,
        {{ quantity_sum('transactions.quantity') }} as units_sold_30d
    from {{ ref('transactions') }} as transactions
    cross join as_of
    where transactions.transaction_date
        between cast({{ dbt.dateadd('day', -29, 'as_of.as_of_date') }} as date) and as_of.as_of_date
    group by transactions.product_id
),

demand as (
    select
        products.product_id,
        products.product_name,
        products.category,
        products.stock_quantity,
        as_of.as_of_date,
        coalesce(units_30d.units_sold_30d, 0) as units_sold_30d
    from {{ ref('products') }} as products
    cross join as_of
    left join units_30d on products.product_id = units_30d.product_id
)

select
    product_id,
    product_name,
    category,
    stock_quantity,
    as_of_date,
    units_sold_30d,
    units_sold_30d / 30.0 as avg_daily_units_30d,
    stock_quantity * 30.0 / nullif(units_sold_30d, 0) as days_of_cover,
    case
        when stock_quantity is null or stock_quantity = 0 then true
        else stock_quantity * 30 < 7 * units_sold_30d
    end as is_low_stock
from demand
