-- The floor for this engine: the project's Silver and Gold rules as one DuckDB script in one process,
-- reading the landing files directly, with no ledger, lineage bookkeeping, checks, dbt or Dagster.
-- benchmarks/bare_duckdb.py replaces __LANDING__ with the landing folder and runs it.
--
-- The rules are the project's (sql/models/silver, the transaction rules in transactions_revisited.sql,
-- sql/macros/cleaning.sql, the Gold models, sql/seeds/country_aliases.csv), written once more by hand:
--   Bronze:  a row whose typed column will not cast is not a version at all (bronze.rejects); a CSV line
--            the reader cannot parse neither.
--   Silver:  the latest version of a key wins: latest landing day, then the file, then the last row in
--            it (the benchmark lands one file per source per day, so the file's last-modified time, the
--            project's tie-break within a day, never decides here).
--   Gold:    left joins, so orphan sales keep their revenue; sums in 64 bits; averages of money
--            rounded half away from zero to the cent in integer arithmetic.

CREATE SCHEMA bronze;
CREATE SCHEMA silver;
CREATE SCHEMA gold;

-- A landed file's day: the <YYYY-MM-DD> folder in its key.
CREATE TEMP MACRO landing_day(path) AS CAST(regexp_extract(path, '/(\d{4}-\d{2}-\d{2})/[^/]*$', 1) AS DATE);
-- Words are what spaces separate; each word's first letter upper case, the rest lower.
CREATE TEMP MACRO title_case(text) AS list_aggregate(list_transform(
    string_split(lower(regexp_replace(trim(text), '\s+', ' ', 'g')), ' '), w -> upper(w[1]) || w[2:]), 'string_agg', ' ');
CREATE TEMP MACRO is_email(text) AS regexp_full_match(text, '^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$');
-- numerator / denominator to the cent, half away from zero, in integer arithmetic. Both are positive
-- here (Silver keeps only sales with amount and quantity above zero), so no signs.
CREATE TEMP MACRO money_ratio(numerator, denominator) AS
    CAST(CAST((CAST(numerator * 100 AS HUGEINT) * 2 + denominator) // (2 * denominator) AS DECIMAL(38, 0)) * 0.01
         AS DECIMAL(18, 2));

CREATE TABLE silver.country_aliases AS
SELECT * FROM read_csv('__SEEDS__/country_aliases.csv', header = true,
                       columns = {'alias': 'VARCHAR', 'country': 'VARCHAR'});

-- Bronze, typed as the registry types it (medallion_platform/sources.py); untypable rows are left out.
CREATE TABLE bronze.customers AS
SELECT * EXCLUDE (age, total_purchases, filename),
       TRY_CAST(age AS INTEGER) AS age,
       TRY_CAST(total_purchases AS INTEGER) AS total_purchases,
       filename AS _source_file,
       landing_day(filename) AS _landing_date
FROM read_csv('__LANDING__/customers/*/*.csv', header = true, auto_detect = false, delim = ',',
              quote = '"', escape = '"', ignore_errors = true, filename = true,
              columns = {'customer_id': 'VARCHAR', 'name': 'VARCHAR', 'email': 'VARCHAR',
                         'country': 'VARCHAR', 'customer_type': 'VARCHAR', 'registration_date': 'VARCHAR',
                         'age': 'VARCHAR', 'gender': 'VARCHAR', 'total_purchases': 'VARCHAR'})
WHERE (age IS NULL OR TRY_CAST(age AS INTEGER) IS NOT NULL)
  AND (total_purchases IS NULL OR TRY_CAST(total_purchases AS INTEGER) IS NOT NULL);

CREATE TABLE bronze.products AS
SELECT product_id, name, category, brand,
       TRY_CAST(price AS DECIMAL(12, 2)) AS price, stock_quantity,
       TRY_CAST(rating AS DOUBLE) AS rating, TRY_CAST(is_active AS BOOLEAN) AS is_active,
       _source_file, _landing_date
FROM (
    SELECT json->>'product_id' AS product_id, json->>'name' AS name, json->>'category' AS category,
           json->>'brand' AS brand, json->>'price' AS price, json->>'stock_quantity' AS stock_quantity,
           json->>'rating' AS rating, json->>'is_active' AS is_active,
           filename AS _source_file,
           landing_day(filename) AS _landing_date
    FROM read_json_objects('__LANDING__/products/*/*.json', format = 'array', filename = true)
    WHERE json_valid(json) AND json_type(json) = 'OBJECT'
)
WHERE (price IS NULL OR TRY_CAST(price AS DECIMAL(12, 2)) IS NOT NULL)
  AND (rating IS NULL OR TRY_CAST(rating AS DOUBLE) IS NOT NULL)
  AND (is_active IS NULL OR TRY_CAST(is_active AS BOOLEAN) IS NOT NULL);

CREATE TABLE bronze.transactions AS
SELECT transaction_id, customer_id, product_id, quantity,
       TRY_CAST(total_amount AS DECIMAL(12, 2)) AS total_amount,
       transaction_date, payment_method, store_type,
       filename AS _source_file, file_row_number AS _row_number,
       landing_day(filename) AS _landing_date
FROM read_parquet('__LANDING__/transactions/*/*.parquet', filename = true, file_row_number = true)
WHERE total_amount IS NULL OR TRY_CAST(total_amount AS DECIMAL(12, 2)) IS NOT NULL;

-- Silver: the latest version of each key, cleaned. rowid is the order a file's rows were read in.
CREATE TABLE silver.customers AS
WITH versions AS (
    SELECT *, nullif(trim(customer_id), '') AS key,
           row_number() OVER (PARTITION BY nullif(trim(customer_id), '')
                              ORDER BY _landing_date DESC, _source_file DESC, rowid DESC) AS version
    FROM bronze.customers
),
cleaned AS (
    SELECT
        key AS customer_id,
        nullif(title_case(v.name), '') AS name,
        nullif(lower(trim(v.email)), '') AS email_given,
        coalesce(a.country, CASE
            WHEN upper(trim(v.country)) IN ('', 'UNKNOWN', 'N/A', 'NONE') THEN NULL
            ELSE title_case(v.country)
        END) AS country,
        CASE
            WHEN upper(trim(v.customer_type)) IN ('REGULAR', 'REG', 'R') THEN 'Regular'
            WHEN upper(trim(v.customer_type)) IN ('PREMIUM', 'PREM', 'P') THEN 'Premium'
            WHEN upper(trim(v.customer_type)) = 'VIP' THEN 'VIP'
            ELSE 'Unknown'
        END AS customer_type,
        CASE WHEN TRY_CAST(v.registration_date AS DATE) <= current_date
             THEN TRY_CAST(v.registration_date AS DATE) END AS registration_date,
        CASE WHEN v.age BETWEEN 18 AND 120 THEN v.age END AS age,
        CASE
            WHEN upper(trim(v.gender)) IN ('M', 'MALE') THEN 'Male'
            WHEN upper(trim(v.gender)) IN ('F', 'FEMALE') THEN 'Female'
            ELSE 'Other'
        END AS gender,
        CASE WHEN v.total_purchases < 0 THEN 0 ELSE v.total_purchases END AS total_purchases,
        v._source_file
    FROM versions AS v
    LEFT JOIN silver.country_aliases AS a ON upper(trim(v.country)) = a.alias
    WHERE v.key IS NOT NULL AND v.version = 1
)
SELECT
    customer_id, name,
    CASE WHEN is_email(email_given) THEN email_given END AS email,
    coalesce(is_email(email_given), false) AS has_valid_email,
    country, customer_type, registration_date, age, gender, total_purchases, _source_file
FROM cleaned;

CREATE TABLE silver.products AS
WITH versions AS (
    SELECT *, nullif(trim(product_id), '') AS key,
           row_number() OVER (PARTITION BY nullif(trim(product_id), '')
                              ORDER BY _landing_date DESC, _source_file DESC, rowid DESC) AS version
    FROM bronze.products
)
SELECT
    key AS product_id,
    nullif(title_case(name), '') AS product_name,
    nullif(title_case(category), '') AS category,
    nullif(trim(brand), '') AS brand,
    CASE WHEN price >= 0 THEN round(price, 2) END AS price,
    coalesce(price < 0, false) AS has_negative_price,
    CASE WHEN TRY_CAST(trim(stock_quantity) AS INTEGER) < 0 THEN 0
         ELSE TRY_CAST(trim(stock_quantity) AS INTEGER) END AS stock_quantity,
    (stock_quantity IS NOT NULL AND TRY_CAST(trim(stock_quantity) AS INTEGER) IS NULL) AS has_invalid_stock,
    CASE WHEN rating BETWEEN 0 AND 5 THEN rating END AS rating,
    is_active,
    _source_file
FROM versions
WHERE key IS NOT NULL AND version = 1;

-- The latest version of an id decides: when it is unusable the id is quarantined, not its older version kept.
CREATE TABLE silver.transactions AS
WITH versions AS (
    SELECT
        nullif(trim(transaction_id), '') AS transaction_id,
        nullif(trim(customer_id), '') AS customer_id,
        nullif(trim(product_id), '') AS product_id,
        quantity, total_amount, transaction_date AS transaction_date_given,
        try_strptime(transaction_date, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S', '%Y/%m/%d %H:%M:%S', '%Y-%m-%d'])
            AS transaction_at,
        nullif(trim(payment_method), '') AS payment_method,
        nullif(trim(store_type), '') AS store_type,
        _source_file, _landing_date,
        row_number() OVER (PARTITION BY nullif(trim(transaction_id), '')
                           ORDER BY _landing_date DESC, _source_file DESC, _row_number DESC) AS version
    FROM bronze.transactions
)
SELECT
    t.transaction_id, t.customer_id, t.product_id, t.quantity, t.total_amount, t.transaction_at,
    CAST(t.transaction_at AS DATE) AS transaction_date, t.payment_method, t.store_type,
    c.customer_id IS NOT NULL AS has_known_customer,
    p.product_id IS NOT NULL AS has_known_product,
    t._source_file, t._landing_date
FROM versions AS t
LEFT JOIN silver.customers AS c ON t.customer_id = c.customer_id
LEFT JOIN silver.products AS p ON t.product_id = p.product_id
WHERE t.transaction_id IS NOT NULL AND t.version = 1
  AND t.total_amount > 0 AND t.quantity > 0
  AND nullif(trim(t.transaction_date_given), '') IS NOT NULL AND t.transaction_at IS NOT NULL;

-- Gold: every sale with its product and customer attributes, over left joins.
CREATE TEMP VIEW sales_enriched AS
SELECT t.transaction_id, t.transaction_date, t.quantity, t.total_amount, t.product_id,
       p.product_name, p.category AS product_category, t.customer_id,
       coalesce(c.customer_type, 'Unknown') AS customer_type
FROM silver.transactions AS t
LEFT JOIN silver.products AS p ON t.product_id = p.product_id
LEFT JOIN silver.customers AS c ON t.customer_id = c.customer_id;

CREATE TABLE gold.vw_daily_sales_analysis AS
SELECT
    transaction_date, product_id, product_name, product_category, customer_id, customer_type,
    CAST(sum(quantity) AS BIGINT) AS total_quantity,
    CAST(sum(total_amount) AS DECIMAL(18, 2)) AS total_sales,
    count(DISTINCT transaction_id) AS num_transactions,
    money_ratio(sum(total_amount), sum(quantity)) AS avg_price_per_unit,
    money_ratio(sum(total_amount), count(DISTINCT transaction_id)) AS avg_transaction_value
FROM sales_enriched
GROUP BY ALL;

CREATE TABLE gold.vw_customer_product_affinity AS
SELECT
    customer_id, customer_type, product_id, product_name, product_category,
    CAST(date_trunc('month', transaction_date) AS DATE) AS purchase_month,
    count(DISTINCT transaction_id) AS purchase_count,
    CAST(sum(quantity) AS BIGINT) AS total_quantity,
    CAST(sum(total_amount) AS DECIMAL(18, 2)) AS total_spent,
    money_ratio(sum(total_amount), count(total_amount)) AS avg_purchase_amount,
    date_diff('day', min(transaction_date), max(transaction_date)) AS days_between_first_last_purchase
FROM sales_enriched
GROUP BY ALL;
