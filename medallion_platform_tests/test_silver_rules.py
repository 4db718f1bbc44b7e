"""Every Silver rule, fed crafted bad rows through the real loader and the real dbt models."""

import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from medallion_platform.bronze.loader import load_source
from medallion_platform.dbt_project import MedallionDbtCli, dbt_resource
from medallion_platform.landing import LocalLandingZone
from medallion_platform.settings import get_settings
from medallion_platform.sources import SOURCES
from medallion_platform_tests.conftest import MEDALLION_VARIABLES
from medallion_platform_tests.reconciliation import RECONCILED_ENTITIES, reconcile

CUSTOMERS_DAY1 = """customer_id,name,email,country,customer_type,registration_date,age,gender,total_purchases
C01,  jOHN   smith ,  John.Smith@Example.COM ,usa,VIP,2024-05-06,18,M,7
C02,Ann Lee,not-an-email,U.S.A.,vip,2031-01-01,120,male,-5
C03,Bo,,United States ,  VIP ,2021-02-30,17,F,0
C04,Cy,cy@x.io,Unknown,Reg,,121,FEMALE,1
C05,Di,di@x.io,,R,2024-01-01,-1,X,2
C06,Ed,ed@x.io,Narnia,regular,2024-01-01,200,,3
C07,Fa,fa@x.io,uk,P,2024-01-01,30,Other,4
C08,Gu,gu@x.io,germany,PREM,2024-01-01,30,f,5
C09,Ha,ha@x.io,DE, premium ,2024-01-01,30,F,6
C10,Io,io@x.io,France,Gold,2024-01-01,30,F,6
C11,Jo,jo@x.io,France,,2024-01-01,30,F,6
,No Id,noid@x.io,France,VIP,2024-01-01,30,F,6
C12,First Version,v1@x.io,France,Reg,2024-01-01,30,F,1
C12,Second Version,v2@x.io,France,VIP,2024-01-01,30,F,2
"""
CUSTOMERS_DAY2 = """customer_id,name,email,country,customer_type,registration_date,age,gender,total_purchases
C01,John Smith,new@x.io,usa,Regular,2024-05-06,19,M,8
"""
PRODUCTS = [
    {"product_id": "P1", "name": "  smart   WATCH ", "category": "ELECTRONICS ", "brand": " Acme ", "price": 10.555,
     "stock_quantity": "12", "rating": 4.5, "is_active": True},
    {"product_id": "P2", "name": "lamp", "category": "home & kitchen", "brand": "B", "price": -3.0,
     "stock_quantity": "abc", "rating": 6.5, "is_active": False},
    {"product_id": "P3", "name": "Ball", "category": "Sports", "brand": "C", "price": 5,
     "stock_quantity": -3, "rating": -1, "is_active": True},
    {"product_id": "P4", "name": "Kite", "category": "Toys", "brand": "D", "price": 7.5,
     "stock_quantity": 40, "rating": 0, "is_active": True},
    {"product_id": None, "name": "Ghost", "category": "Toys", "brand": "E", "price": 1, "stock_quantity": 1,
     "rating": 1, "is_active": True},
]
TRANSACTIONS = [  # (id, customer, product, quantity, amount, date)
    ("T01", "C01", "P1", 1, 10.56, "2026-11-20 10:00:00"),
    ("T02", "C01", "P1", 2, 21.12, "2026-11-20T11:30:00"),
    ("T03", "C02", "P4", 1, 7.50, "2026/11/20 12:00:00"),
    ("T04", "C02", "P4", 1, 7.50, "2026-11-19"),
    ("T05", "C99", "P4", 1, 7.50, "2026-11-20 10:00:00"),   # unknown customer: kept, flagged
    ("T06", "C01", "P99", 1, 3.00, "2026-11-20 10:00:00"),  # unknown product: kept, flagged
    ("T07", "C01", "P1", 1, 0.00, "2026-11-20 10:00:00"),
    ("T08", "C01", "P1", 1, -5.00, "2026-11-20 10:00:00"),
    ("T09", "C01", "P1", 1, None, "2026-11-20 10:00:00"),
    ("T10", "C01", "P1", 0, 5.00, "2026-11-20 10:00:00"),
    ("T11", "C01", "P1", 1, 5.00, "yesterday"),
    ("T12", "C01", "P1", 1, 5.00, "2026-13-45 10:00:00"),
    ("T13", "C01", "P1", 1, 5.00, ""),
    ("T14", "C01", "P1", 1, 5.00, None),
    (None, "C01", "P1", 1, 5.00, "2026-11-20 10:00:00"),
    ("T15", "C01", "P1", -1, -5.00, "N/A"),
    ("T16", "C01", "P1", 1, 5.00, "2026-11-20 10:00:00"),   # corrected below: the later version wins
    ("T16", "C01", "P1", 2, 9.00, "2026-11-20 10:00:00"),
    ("T17", "C01", "P1", 1, 5.00, "2026-11-20 10:00:00"),   # a bad correction quarantines, old one superseded
    ("T17", "C01", "P1", 1, -5.00, "2026-11-20 10:00:00"),
]


def dbt_on(warehouse: Path) -> MedallionDbtCli:
    """The pipeline's dbt, with the settings of a laptop whose warehouse is `warehouse`."""
    with pytest.MonkeyPatch.context() as env:
        for variable in MEDALLION_VARIABLES:
            env.delenv(variable, raising=False)
        env.setenv("MEDALLION_DATA_DIR", str(warehouse.parent))
        env.setenv("MEDALLION_DUCKDB_PATH", str(warehouse))
        return dbt_resource(get_settings())


def land_transactions(landing: LocalLandingZone, day: str, transactions: list[tuple]) -> None:
    """A Parquet transactions file of `transactions` (TRANSACTIONS' columns) landed for `day`."""
    path = landing._root / f"transactions/{day}/t.parquet"
    path.parent.mkdir(parents=True)
    with duckdb.connect() as scratch:
        scratch.execute(
            "CREATE TABLE t (transaction_id VARCHAR, customer_id VARCHAR, product_id VARCHAR, quantity INTEGER,"
            " total_amount DOUBLE, transaction_date VARCHAR, payment_method VARCHAR, store_type VARCHAR)")
        scratch.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, 'Cash', 'Online')", transactions)
        scratch.execute(f"COPY t TO '{path}' (FORMAT PARQUET)")


def copy_of(silver, tmp_path: Path) -> Path:
    """A copy of the fixture's built warehouse, for a test that changes it."""
    (built,) = silver.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built, warehouse)
    return warehouse


@pytest.fixture(scope="module")
def silver(tmp_path_factory):
    root = tmp_path_factory.mktemp("silver_rules")
    landing = LocalLandingZone(root=str(root / "landing"))
    files = {
        "customers/2026-11-20/c.csv": CUSTOMERS_DAY1,
        "customers/2026-11-21/c.csv": CUSTOMERS_DAY2,
        "products/2026-11-20/p.json": json.dumps(PRODUCTS),
    }
    for key, text in files.items():
        (landing._root / key).parent.mkdir(parents=True, exist_ok=True)
        (landing._root / key).write_text(text)
    land_transactions(landing, "2026-11-20", TRANSACTIONS)

    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for source in SOURCES.values():
            load_source(con, landing, source)
    invocation = dbt_on(warehouse).cli(["build", "--select", "path:models/silver path:seeds"],
                                       target_path=root / "target", raise_on_error=False).wait()
    assert invocation.is_successful(), invocation.get_error()
    with duckdb.connect(str(warehouse)) as con:
        yield con


def rows(con, sql):
    return con.execute(sql).fetchall()


def customer(con, customer_id, *columns):
    return con.execute(f"SELECT {', '.join(columns)} FROM silver.customers WHERE customer_id = ?",
                       [customer_id]).fetchone()


def test_names_trimmed_and_title_cased(silver):
    assert customer(silver, "C01", "name") == ("John Smith",)  # the day-2 version


def test_emails_trimmed_lowered_validated_and_bad_ones_flagged_not_dropped(silver):
    assert rows(silver, "SELECT customer_id, email, has_valid_email FROM silver.customers "
                        "WHERE customer_id IN ('C02', 'C03', 'C04') ORDER BY 1") == [
        ("C02", None, False), ("C03", None, False), ("C04", "cy@x.io", True)]
    assert customer(silver, "C01", "email", "has_valid_email") == ("new@x.io", True)


def test_countries_standardised_unknown_to_null(silver):
    countries = dict(rows(silver, "SELECT customer_id, country FROM silver.customers"))
    assert [countries[c] for c in ("C01", "C02", "C03")] == ["United States"] * 3
    assert (countries["C04"], countries["C05"]) == (None, None)
    assert (countries["C06"], countries["C07"], countries["C08"], countries["C09"]) == (
        "Narnia", "United Kingdom", "Germany", "Germany")


def test_customer_type_spellings(silver):
    types = dict(rows(silver, "SELECT customer_id, customer_type FROM silver.customers"))
    assert [types[c] for c in ("C02", "C03")] == ["VIP", "VIP"]  # the seed system made these Unknown
    assert [types[c] for c in ("C01", "C04", "C05", "C06")] == ["Regular"] * 4
    assert [types[c] for c in ("C07", "C08", "C09")] == ["Premium"] * 3
    assert [types[c] for c in ("C10", "C11")] == ["Unknown"] * 2


def test_age_kept_only_between_18_and_120(silver):
    ages = dict(rows(silver, "SELECT customer_id, age FROM silver.customers"))
    assert [ages[c] for c in ("C01", "C02", "C03", "C04", "C05", "C06")] == [19, 120, None, None, None, None]


def test_gender_male_female_other(silver):
    genders = dict(rows(silver, "SELECT customer_id, gender FROM silver.customers"))
    assert [genders[c] for c in ("C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08")] == [
        "Male", "Male", "Female", "Female", "Other", "Other", "Other", "Female"]


def test_negative_total_purchases_become_zero(silver):
    purchases = dict(rows(silver, "SELECT customer_id, total_purchases FROM silver.customers"))
    assert (purchases["C02"], purchases["C03"], purchases["C01"]) == (0, 0, 8)


def test_registration_date_parsed_future_and_impossible_dates_null(silver):
    dates = dict(rows(silver, "SELECT customer_id, registration_date::VARCHAR FROM silver.customers"))
    assert (dates["C01"], dates["C02"], dates["C03"], dates["C04"]) == ("2024-05-06", None, None, None)


def test_customer_without_id_is_quarantined_with_reason(silver):
    assert rows(silver, "SELECT reason, name FROM silver.customers_quarantine") == [("missing customer_id", "No Id")]


def test_latest_version_wins_across_files_and_within_a_file(silver):
    assert customer(silver, "C01", "age", "_source_file") == (19, "customers/2026-11-21/c.csv")
    assert customer(silver, "C12", "name", "customer_type") == ("Second Version", "VIP")


def test_product_rules(silver):
    products = {r[0]: r[1:] for r in rows(
        silver, "SELECT product_id, product_name, category, brand, price, has_negative_price, stock_quantity,"
                " has_invalid_stock, rating, is_active FROM silver.products")}
    assert products["P1"] == ("Smart Watch", "Electronics", "Acme", Decimal("10.56"), False, 12, False, 4.5, True)
    assert products["P2"] == ("Lamp", "Home & Kitchen", "B", None, True, None, True, None, False)
    assert products["P3"][4:8] == (False, 0, False, None)  # negative stock -> 0, rating -1 -> NULL
    assert products["P4"][7] == 0  # rating 0 is in range
    assert rows(silver, "SELECT reason, product_name FROM silver.products_quarantine") == [
        ("missing product_id", "Ghost")]


def test_transaction_quarantine_reasons(silver):
    reasons = dict(rows(silver, "SELECT coalesce(transaction_id, '(none)'), reason FROM silver.transactions_quarantine"))
    assert reasons == {
        "T07": "total_amount <= 0",
        "T08": "total_amount <= 0",
        "T09": "missing total_amount",
        "T10": "quantity <= 0",
        "T11": "unparseable transaction_date",
        "T12": "unparseable transaction_date",
        "T13": "missing transaction_date",
        "T14": "missing transaction_date",
        "(none)": "missing transaction_id",
        "T15": "total_amount <= 0; quantity <= 0; unparseable transaction_date",
        "T17": "total_amount <= 0",
    }


def test_transaction_dates_accepted_in_the_feeds_layouts(silver):
    dates = dict(rows(silver, "SELECT transaction_id, transaction_at::VARCHAR FROM silver.transactions"))
    assert (dates["T01"], dates["T02"], dates["T03"], dates["T04"]) == (
        "2026-11-20 10:00:00", "2026-11-20 11:30:00", "2026-11-20 12:00:00", "2026-11-19 00:00:00")


def test_orphan_transactions_kept_and_flagged(silver):
    flags = {r[0]: r[1:] for r in rows(
        silver, "SELECT transaction_id, has_known_customer, has_known_product FROM silver.transactions")}
    assert flags["T05"] == (False, True) and flags["T06"] == (True, False) and flags["T01"] == (True, True)


def test_latest_transaction_version_decides(silver):
    assert rows(silver, "SELECT quantity, total_amount FROM silver.transactions WHERE transaction_id = 'T16'") == [
        (2, Decimal("9.00"))]
    assert rows(silver, "SELECT count(*) FROM silver.transactions WHERE transaction_id = 'T17'") == [(0,)]
    assert rows(silver, "SELECT _status, count(*) FROM silver.transactions_revisited "
                        "WHERE transaction_id IN ('T16', 'T17') GROUP BY 1 ORDER BY 1") == [
        ("quarantined", 1), ("superseded", 2), ("valid", 1)]


def test_every_bronze_row_reconciles(silver):
    for entity in RECONCILED_ENTITIES:
        counts = reconcile(silver, entity)
        assert counts.unaccounted == 0 and counts.bronze > 0, counts
    assert reconcile(silver, "transactions").superseded == 2


@pytest.mark.parametrize("window, lost, fails", [
    (None, "T03", True),                          # no window (the nightly full refresh): every key is checked
    (("2026-11-20", "2026-11-20"), "T03", True),  # T03 has a version in the window's files
    (("2026-11-21", "2026-11-21"), "T03", False),  # only C01's file: a run over this window cannot change T03
    (("2026-11-21", "2026-11-21"), "T01", True),  # T01 names C01: revisited, whatever Silver holds
])
def test_the_reconciliation_checks_the_windows_keys_or_all_of_bronze(silver, tmp_path, window, lost, fails):
    """A Silver transaction lost behind the pipeline's back fails the reconciliation when the check
    covers its key: an incremental run checks every version of the keys it revisits (those its files
    carry, and those naming a customer or product its files carry), no more. The run lists them in
    transactions_revisited, built here as a run does, from Bronze alone: a transaction missing from Silver
    is revisited as it would be if it were there."""
    warehouse = copy_of(silver, tmp_path)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM silver.transactions WHERE transaction_id = ?", [lost])
        assert reconcile(con, "transactions").unaccounted == 1  # the tests' own count sees the loss too
    invocation = dbt_on(warehouse).cli(["build", "--select", "transactions_revisited transactions_reconcile_with_bronze"],
                                       window=window, target_path=tmp_path / "target", raise_on_error=False).wait()
    assert invocation.is_successful() is not fails, invocation.get_error()



def test_an_incremental_run_finds_every_version_of_an_id_however_it_is_padded(silver, tmp_path):
    """An id is matched as Silver cleans it (trimmed): a run over a later day's file revisits the earlier
    versions of its ids whether either side came with spaces around the id, so the latest version wins
    and nothing is left behind (transactions_revisited matches clean ids as they are and trims only
    padded ones)."""
    warehouse = copy_of(silver, tmp_path)
    landing = LocalLandingZone(root=str(tmp_path / "landing"))
    at = "2026-11-20 10:00:00"
    days = {
        # T16 arrived clean: corrected with spaces around it. T20 is new, with a space before it.
        "2026-11-21": [(" T16 ", "C01", "P1", 3, 12.00, at), (" T20", "C01", "P1", 1, 4.00, at)],
        # T20 corrected clean; T16 corrected once more, with a space after it.
        "2026-11-22": [("T20", "C01", "P1", 5, 20.00, at), ("T16 ", "C01", "P1", 4, 16.00, at)],
    }
    dbt = dbt_on(warehouse)
    for day, transactions in days.items():
        land_transactions(landing, day, transactions)
        with duckdb.connect(str(warehouse)) as con:
            load_source(con, landing, SOURCES["transactions"])
        invocation = dbt.cli(["build", "--select", "transactions_revisited transactions"], window=(day, day),
                             target_path=tmp_path / f"target-{day}", raise_on_error=False).wait()
        assert invocation.is_successful(), invocation.get_error()
    with duckdb.connect(str(warehouse)) as con:
        assert rows(con, "SELECT transaction_id, quantity, total_amount, _landing_date::VARCHAR FROM silver.transactions "
                         "WHERE transaction_id IN ('T16', 'T20') ORDER BY 1") == [
            ("T16", 4, Decimal("16.00"), "2026-11-22"), ("T20", 5, Decimal("20.00"), "2026-11-22")]
        # The last run revisited every version of both ids: two of T20, four of T16 (two on the first day).
        assert rows(con, "SELECT transaction_id, _status, count(*) FROM silver.transactions_revisited "
                         "GROUP BY ALL ORDER BY ALL") == [
            ("T16", "superseded", 3), ("T16", "valid", 1), ("T20", "superseded", 1), ("T20", "valid", 1)]
        assert reconcile(con, "transactions").unaccounted == 0


def test_an_incremental_run_rebuilds_the_gold_groups_of_sales_without_a_customer(silver, tmp_path):
    """A sale naming no customer has its own group in the Gold facts (customer_type 'Unknown'): a run
    that revisits it builds that group, and a later correction that names a customer empties it again.
    The facts narrow the rows they rebuild and delete by customer first (macros/sales_groups_to_rebuild.sql),
    which must not pass over the group without one."""
    warehouse = copy_of(silver, tmp_path)
    landing = LocalLandingZone(root=str(tmp_path / "landing"))
    facts = "transactions_revisited transactions vw_daily_sales_analysis vw_customer_product_affinity"
    dbt = dbt_on(warehouse)
    first = dbt.cli(["build", "--select", facts], target_path=tmp_path / "target", raise_on_error=False).wait()
    assert first.is_successful(), first.get_error()
    at = "2026-11-25 10:00:00"
    days = {"2026-11-21": [("T30", None, "P4", 2, 15.00, at)],   # no customer
            "2026-11-22": [("T30", "C01", "P4", 2, 15.00, at)]}  # corrected: C01 bought it
    groups = ("SELECT customer_id, customer_type, total_quantity, total_sales, num_transactions "
              "FROM gold.vw_daily_sales_analysis WHERE transaction_date = DATE '2026-11-25' ORDER BY ALL")
    months = ("SELECT customer_id, purchase_count, total_spent FROM gold.vw_customer_product_affinity "
              "WHERE product_id = 'P4' AND purchase_month = DATE '2026-11-01' ORDER BY ALL")
    seen = {}
    for day, transactions in days.items():
        land_transactions(landing, day, transactions)
        with duckdb.connect(str(warehouse)) as con:
            load_source(con, landing, SOURCES["transactions"])
        invocation = dbt.cli(["build", "--select", facts], window=(day, day), target_path=tmp_path / f"target-{day}",
                             raise_on_error=False).wait()
        assert invocation.is_successful(), invocation.get_error()
        with duckdb.connect(str(warehouse)) as con:
            seen[day] = rows(con, groups), rows(con, months)
    assert seen["2026-11-21"] == (
        [(None, "Unknown", 2, Decimal("15.00"), 1)],
        [("C02", 2, Decimal("15.00")), ("C99", 1, Decimal("7.50")), (None, 1, Decimal("15.00"))])
    assert seen["2026-11-22"] == (
        [("C01", "Regular", 2, Decimal("15.00"), 1)],
        [("C01", 1, Decimal("15.00")), ("C02", 2, Decimal("15.00")), ("C99", 1, Decimal("7.50"))])


def test_an_object_rewritten_within_the_same_second_is_taken_from_its_later_load(silver, tmp_path):
    """Two deliveries of one key can share every other part of the version order: S3's LastModified
    has whole seconds, and an object overwritten within one second keeps it. The later load (its
    ledger load_id) is the later version; Silver holds one row for the id, never both or either."""
    warehouse = copy_of(silver, tmp_path)
    landing = LocalLandingZone(root=str(tmp_path / "landing"))
    path = landing._root / "customers/2026-11-22/c.csv"
    path.parent.mkdir(parents=True)
    header = CUSTOMERS_DAY2.splitlines()[0]
    for age in (40, 41, 42):
        path.write_text(f"{header}\nC30,Late Writer,lw@x.io,France,VIP,2024-01-01,{age},F,1\n")
        os.utime(path, (1_800_000_000, 1_800_000_000))
        with duckdb.connect(str(warehouse)) as con:
            (loaded,) = load_source(con, landing, SOURCES["customers"]).files
            assert loaded.status == "loaded", loaded
    invocation = dbt_on(warehouse).cli(["build", "--select", "customers_classified customers"],
                                       target_path=tmp_path / "target", raise_on_error=False).wait()
    assert invocation.is_successful(), invocation.get_error()
    with duckdb.connect(str(warehouse)) as con:
        assert rows(con, "SELECT age FROM silver.customers WHERE customer_id = 'C30'") == [(42,)]
        assert rows(con, "SELECT _status, count(*) FROM silver.customers_classified WHERE customer_id = 'C30' "
                         "GROUP BY ALL ORDER BY ALL") == [("superseded", 2), ("valid", 1)]


def test_the_transactions_quarantine_follows_each_run_and_holds_each_row_once(silver, tmp_path):
    """silver.transactions_quarantine is merged from what a run revisits, as silver.transactions is: a
    later day's rows without an id join it, a quarantined version leaves it when a good correction
    supersedes it, a good version is quarantined by a bad correction, and running a day again changes
    nothing. Every Bronze row stays accounted for after each run."""
    warehouse = copy_of(silver, tmp_path)
    landing = LocalLandingZone(root=str(tmp_path / "landing"))
    at = "2026-11-20 10:00:00"
    days = {"2026-11-21": [(None, "C01", "P1", 1, 5.00, at), ("T40", "C01", "P1", 1, -1.00, at),
                           ("T41", "C01", "P1", 1, 4.00, at)],
            "2026-11-22": [("T40", "C01", "P1", 1, 6.00, at), ("T41", "C01", "P1", 0, 4.00, at),
                           ("  ", "C02", "P4", 1, 7.50, at)]}
    quarantine = ("SELECT coalesce(transaction_id, '-') || ' ' || _landing_date, reason FROM silver.transactions_quarantine "
                  "JOIN (SELECT DISTINCT _load_id, _landing_date::VARCHAR AS _landing_date FROM bronze.transactions) "
                  "USING (_load_id) WHERE _landing_date > '2026-11-20' ORDER BY ALL")
    seen = {}
    dbt = dbt_on(warehouse)
    for day, transactions in [*days.items(), ("2026-11-22", None)]:
        if transactions:
            land_transactions(landing, day, transactions)
            with duckdb.connect(str(warehouse)) as con:
                load_source(con, landing, SOURCES["transactions"])
        invocation = dbt.cli(["build", "--select", "transactions_revisited transactions transactions_quarantine"],
                             window=(day, day), target_path=tmp_path / "target", raise_on_error=False).wait()
        assert invocation.is_successful(), invocation.get_error()
        with duckdb.connect(str(warehouse)) as con:
            seen.setdefault(day, []).append(rows(con, quarantine))
            assert reconcile(con, "transactions").unaccounted == 0, day
    assert seen["2026-11-21"] == [[("- 2026-11-21", "missing transaction_id"), ("T40 2026-11-21", "total_amount <= 0")]]
    day_2 = [("- 2026-11-21", "missing transaction_id"), ("- 2026-11-22", "missing transaction_id"),
             ("T41 2026-11-22", "quantity <= 0")]
    assert seen["2026-11-22"] == [day_2, day_2]
