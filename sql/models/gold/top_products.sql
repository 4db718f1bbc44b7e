{#- Every product that sold, ranked by revenue; consumers take the top N they need.
    revenue_rank is a row_number (ties broken by product_id), so each rank names exactly one product
    and "revenue_rank <= 10" returns exactly ten rows. Sales naming no product are left out: there is
    no product to rank. Products unknown to the catalogue rank too, with a NULL name and category. -#}
select
    product_id,
    product_name,
    product_category as category,
    {{ quantity_sum('quantity') }} as total_quantity_sold,
    {{ money_sum('total_amount') }} as total_revenue,
    row_number() over (order by sum(total_amount) desc, product_id) as revenue_rank
from {{ ref('sales_enriched') }}
where product_id is not null
group by product_id, product_name, product_category
