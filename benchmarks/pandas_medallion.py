"""The project's Silver and Gold rules as a straightforward pandas script, what many teams write
first: read each landing file whole into a DataFrame, clean, keep the latest version, join, group by.
benchmarks/run.py times it against the project and the bare DuckDB script (bare_duckdb.sql), which
follow the same rules (sql/models/silver, the transaction rules in transactions_revisited.sql,
sql/macros/cleaning.sql, the Gold models, sql/seeds/country_aliases.csv):

- Bronze: a row whose typed column will not cast (age, total_purchases, price, rating, is_active,
  total_amount) is not a version at all; nor is a CSV line with the wrong number of fields.
- Silver: the latest version of a key wins (latest landing day, then file, then last row).
- Gold: left joins; money in integer cents, so sums are exact and averages round half away from zero.

Money leaves here as integer cents (`*_cents` columns). Everything is written to Parquet in the
output folder, as the project persists its tables.

    .venv/bin/python -m benchmarks.pandas_medallion <landing folder> <output folder>
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

SEEDS = Path(__file__).resolve().parent.parent / "sql" / "seeds"
CUSTOMER_COLUMNS = ["customer_id", "name", "email", "country", "customer_type", "registration_date", "age",
                    "gender", "total_purchases"]
EMAIL = r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$"
TIMESTAMP_LAYOUTS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d"]
TYPES = {"REGULAR": "Regular", "REG": "Regular", "R": "Regular", "PREMIUM": "Premium", "PREM": "Premium",
         "P": "Premium", "VIP": "VIP"}
GENDERS = {"M": "Male", "MALE": "Male", "F": "Female", "FEMALE": "Female"}


def _files(landing: Path, source: str, suffix: str) -> list[tuple[Path, str]]:
    """The source's landed files in version order (landing day, then name), each with its day."""
    found = sorted(landing.glob(f"{source}/*/*{suffix}"), key=lambda p: (p.parent.name, str(p)))
    return [(path, path.parent.name) for path in found]


def _read(landing: Path, source: str, suffix: str, reader) -> pd.DataFrame:
    frames = []
    for path, day in _files(landing, source, suffix):
        frame = reader(path)
        frames.append(frame.assign(_source_file=str(path), _landing_date=pd.Timestamp(day)))
    return pd.concat(frames, ignore_index=True)


def _integers(values: pd.Series) -> pd.Series:
    """Text to whole numbers (Int64), NULL when it is not one."""
    return pd.to_numeric(values.where(values.str.fullmatch(r"\s*[+-]?\d+\s*", na=False)), errors="coerce").astype("Int64")


def _title_case(values: pd.Series) -> pd.Series:
    def one(text):
        if not isinstance(text, str):
            return None
        words = re.sub(r"\s+", " ", text.strip(" ")).lower().split(" ")
        return " ".join(w[:1].upper() + w[1:] for w in words) or None
    return values.map(one)


def _cleaned(values: pd.Series) -> pd.Series:
    """Trimmed text, empty as missing."""
    text = values.str.strip(" ")
    return text.where(text != "")


def _latest(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Each key's latest version: the frame is in version order, so the last row per key."""
    return frame[frame[key].notna()].drop_duplicates(subset=key, keep="last")


def customers(landing: Path) -> pd.DataFrame:
    def read(path):
        # pyarrow's reader skips lines with the wrong number of fields, as DuckDB's does.
        table = pa_csv.read_csv(
            path, read_options=pa_csv.ReadOptions(use_threads=True),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=lambda row: "skip"),
            convert_options=pa_csv.ConvertOptions(column_types={c: "string" for c in CUSTOMER_COLUMNS},
                                                  strings_can_be_null=True, quoted_strings_can_be_null=True))
        return table.to_pandas()

    bronze = _read(landing, "customers", ".csv", read)
    ages, purchases = _integers(bronze["age"]), _integers(bronze["total_purchases"])
    typed = (bronze["age"].isna() | ages.notna()) & (bronze["total_purchases"].isna() | purchases.notna())
    bronze = bronze.assign(age=ages, total_purchases=purchases)[typed].copy()
    bronze["customer_id"] = _cleaned(bronze["customer_id"])
    latest = _latest(bronze, "customer_id").copy()

    aliases = pd.read_csv(SEEDS / "country_aliases.csv", dtype=str, keep_default_na=False)
    alias = dict(zip(aliases["alias"], aliases["country"]))
    country_upper = latest["country"].str.strip(" ").str.upper()
    spelled = _title_case(latest["country"]).where(~country_upper.isin(["", "UNKNOWN", "N/A", "NONE"]))
    email_given = _cleaned(latest["email"].str.lower())
    valid_email = email_given.str.fullmatch(EMAIL, na=False)
    registration = pd.to_datetime(latest["registration_date"].str.strip(" "), format="%Y-%m-%d", errors="coerce")
    return pd.DataFrame({
        "customer_id": latest["customer_id"],
        "name": _title_case(latest["name"]),
        "email": email_given.where(valid_email),
        "has_valid_email": valid_email,
        "country": country_upper.map(alias).fillna(spelled),
        "customer_type": latest["customer_type"].str.strip(" ").str.upper().map(TYPES).fillna("Unknown"),
        "registration_date": registration.where(registration <= pd.Timestamp(date.today())),
        "age": latest["age"].where(latest["age"].between(18, 120)),
        "gender": latest["gender"].str.strip(" ").str.upper().map(GENDERS).fillna("Other"),
        "total_purchases": latest["total_purchases"].clip(lower=0),
        "_source_file": latest["_source_file"],
    })


def _decimal_or_none(value):
    """A JSON value as DECIMAL(12,2) would take it; None when it is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip()).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def products(landing: Path) -> pd.DataFrame:
    def read(path):
        records = [r for r in json.loads(path.read_text()) if isinstance(r, dict)]
        return pd.DataFrame.from_records(records)

    bronze = _read(landing, "products", ".json", read)
    prices = bronze["price"].map(_decimal_or_none)
    ratings = pd.to_numeric(bronze["rating"], errors="coerce")
    typed = ((bronze["price"].isna() | prices.notna()) & (bronze["rating"].isna() | ratings.notna())
             & bronze["is_active"].map(lambda v: v is None or isinstance(v, bool) or pd.isna(v)))
    bronze = bronze.assign(price=prices, rating=ratings)[typed].copy()
    bronze["product_id"] = _cleaned(bronze["product_id"].astype("string"))
    latest = _latest(bronze, "product_id")
    stock_text = latest["stock_quantity"].map(lambda v: None if v is None or pd.isna(v) else str(v).strip(" "))
    stock = _integers(stock_text.astype("string"))
    return pd.DataFrame({
        "product_id": latest["product_id"],
        "product_name": _title_case(latest["name"]),
        "category": _title_case(latest["category"]),
        "brand": _cleaned(latest["brand"].astype("string")),
        "price_cents": latest["price"].map(lambda p: int(p * 100) if p is not None and p >= 0 else None).astype("Int64"),
        "has_negative_price": latest["price"].map(lambda p: p is not None and p < 0),
        "stock_quantity": stock.clip(lower=0),
        "has_invalid_stock": stock_text.notna() & stock.isna(),
        "rating": latest["rating"].where(latest["rating"].between(0, 5)),
        "is_active": latest["is_active"],
        "_source_file": latest["_source_file"],
    })


def transactions(landing: Path, known_customers: pd.Series, known_products: pd.Series) -> pd.DataFrame:
    def read(path):
        # DECIMAL(12,2) takes no NaN: such a row is not a version. A missing amount (null) is one,
        # and it quarantines; pandas would read both as NaN, so NaNs are dropped before.
        table = pq.read_table(path)
        return table.filter(pc.invert(pc.fill_null(pc.is_nan(table["total_amount"]), False))).to_pandas()

    bronze = _read(landing, "transactions", ".parquet", read)
    bronze["transaction_id"] = _cleaned(bronze["transaction_id"])
    latest = _latest(bronze, "transaction_id")
    given = latest["transaction_date"]
    at = pd.Series(pd.NaT, index=latest.index, dtype="datetime64[ns]")
    for layout in TIMESTAMP_LAYOUTS:
        at = at.fillna(pd.to_datetime(given, format=layout, errors="coerce"))
    usable = (latest["total_amount"] > 0) & (latest["quantity"] > 0) & _cleaned(given).notna() & at.notna()
    valid = latest[usable]
    customer_id, product_id = _cleaned(valid["customer_id"]), _cleaned(valid["product_id"])
    return pd.DataFrame({
        "transaction_id": valid["transaction_id"],
        "customer_id": customer_id,
        "product_id": product_id,
        "quantity": valid["quantity"].astype("int64"),
        "total_amount_cents": np.round(valid["total_amount"].to_numpy(dtype=float) * 100).astype("int64"),
        "transaction_at": at[usable],
        "transaction_date": at[usable].dt.normalize(),
        "payment_method": _cleaned(valid["payment_method"]),
        "store_type": _cleaned(valid["store_type"]),
        "has_known_customer": customer_id.isin(known_customers),
        "has_known_product": product_id.isin(known_products),
        "_source_file": valid["_source_file"],
        "_landing_date": valid["_landing_date"],
    })


def _rounded_ratio(cents: pd.Series, denominator: pd.Series) -> pd.Series:
    """cents / denominator to the cent, half away from zero (both are positive: Silver keeps only
    sales with amount and quantity above zero)."""
    return (cents * 2 + denominator) // (2 * denominator)


def gold(silver_transactions: pd.DataFrame, silver_products: pd.DataFrame,
         silver_customers: pd.DataFrame) -> dict[str, pd.DataFrame]:
    sales = (silver_transactions[["transaction_id", "transaction_date", "quantity", "total_amount_cents",
                                  "product_id", "customer_id"]]
             .merge(silver_products[["product_id", "product_name", "category"]], on="product_id", how="left")
             .merge(silver_customers[["customer_id", "customer_type"]], on="customer_id", how="left")
             .rename(columns={"category": "product_category"}))
    sales["customer_type"] = sales["customer_type"].fillna("Unknown")

    daily = (sales.groupby(["transaction_date", "product_id", "product_name", "product_category", "customer_id",
                            "customer_type"], dropna=False)
             .agg(total_quantity=("quantity", "sum"), total_sales_cents=("total_amount_cents", "sum"),
                  num_transactions=("transaction_id", "nunique"))
             .reset_index())
    daily["avg_price_per_unit_cents"] = _rounded_ratio(daily["total_sales_cents"], daily["total_quantity"])
    daily["avg_transaction_value_cents"] = _rounded_ratio(daily["total_sales_cents"], daily["num_transactions"])

    sales["purchase_month"] = sales["transaction_date"].dt.to_period("M").dt.to_timestamp()
    affinity = (sales.groupby(["customer_id", "customer_type", "product_id", "product_name", "product_category",
                               "purchase_month"], dropna=False)
                .agg(purchase_count=("transaction_id", "nunique"), total_quantity=("quantity", "sum"),
                     total_spent_cents=("total_amount_cents", "sum"), amounts=("total_amount_cents", "count"),
                     first=("transaction_date", "min"), last=("transaction_date", "max"))
                .reset_index())
    affinity["avg_purchase_amount_cents"] = _rounded_ratio(affinity["total_spent_cents"], affinity["amounts"])
    affinity["days_between_first_last_purchase"] = (affinity["last"] - affinity["first"]).dt.days
    affinity = affinity.drop(columns=["amounts", "first", "last"])
    return {"vw_daily_sales_analysis": daily, "vw_customer_product_affinity": affinity}


def build(landing: Path, out_dir: Path) -> dict:
    """Silver and Gold from the landing folder, written as Parquet under out_dir; the seconds it
    took and the rows of each table."""
    started = time.perf_counter()
    silver_customers = customers(landing)
    silver_products = products(landing)
    silver_transactions = transactions(landing, silver_customers["customer_id"], silver_products["product_id"])
    tables = {"silver.customers": silver_customers, "silver.products": silver_products,
              "silver.transactions": silver_transactions}
    tables.update({f"gold.{name}": frame for name, frame in
                   gold(silver_transactions, silver_products, silver_customers).items()})
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(out_dir / f"{name}.parquet", index=False)
    return {"seconds": round(time.perf_counter() - started, 3), "rows": {n: len(f) for n, f in tables.items()}}


if __name__ == "__main__":
    print(json.dumps(build(Path(sys.argv[1]), Path(sys.argv[2]))))
