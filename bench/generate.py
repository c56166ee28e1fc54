"""Fill a MariaDB panel (stock WHMCS 8.4 schema) with a realistic large history.

    python bench/generate.py --clients 100000 --services 300000 --invoices 1000000

Prints the database URL it filled. Statuses and dates are spread over five years the way a real
panel's are: most invoices paid, a few percent unpaid (mostly recent), some cancelled; most
services active, some suspended, many terminated or cancelled over the years. The activity log
gets the lines WHMCS writes for that history (a payment or cancellation per invoice, a module
command per suspended or ended service); ``--activity-only --url URL`` adds them to a panel
generated before. The bridge starts reading the log at its newest line, so its length does not
weigh on a cycle; it is there so that a panel looks like one that has run for years.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, datetime, timedelta

import pymysql
from sqlalchemy.engine import make_url

from whmcs_bridge.testing.mariadb import load_whmcs_schema

BATCH = 5000


def connect(url: str) -> pymysql.Connection:
    u = make_url(url)
    return pymysql.connect(
        host=u.host,
        port=u.port or 3306,
        user=u.username,
        password=u.password or "",
        database=u.database,
        charset="utf8",
        init_command="SET SESSION sql_mode=''",
        autocommit=False,
    )


def insert_many(conn: pymysql.Connection, sql: str, rows: list[tuple[object, ...]]) -> None:
    with conn.cursor() as cur:
        for start in range(0, len(rows), BATCH):
            cur.executemany(sql, rows[start : start + BATCH])
    conn.commit()


def weighted(rng: random.Random, choices: list[tuple[str, float]]) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


ACTIVITY_SQL = (
    "INSERT INTO tblactivitylog (date, description, user, userid, user_id, admin_id, ipaddr)"
    " VALUES (%s,%s,%s,%s,0,0,'')"
)


def generate_activity(url: str) -> int:
    """The log lines of the history already in the panel; returns how many were written."""
    conn = connect(url)
    written = 0
    commands = {
        "Suspended": "Module Suspend Successful",
        "Terminated": "Module Terminate Successful",
        "Cancelled": "Module Terminate Successful",
    }
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, userid, domainstatus, nextduedate FROM tblhosting"
            " WHERE domainstatus IN ('Suspended','Terminated','Cancelled') ORDER BY id"
        )
        services = cur.fetchall()
    rows = [
        (f"{due} 00:05:00", f"{commands[status]} - Service ID: {sid}", "System", client)
        for sid, client, status, due in services
    ]
    insert_many(conn, ACTIVITY_SQL, rows)
    written += len(rows)
    last = 0
    while True:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT id, userid, status, date FROM tblinvoices WHERE id > %s"
                " AND status IN ('Paid','Cancelled') ORDER BY id LIMIT 50000",
                (last,),
            )
            invoices = cur.fetchall()
        if not invoices:
            break
        rows = [
            (
                f"{day} 12:00:00",
                f"Invoice Marked Paid - Invoice ID: {iid}"
                if status == "Paid"
                else f"Cancelled Invoice - Invoice ID: {iid}",
                "System",
                client,
            )
            for iid, client, status, day in invoices
        ]
        insert_many(conn, ACTIVITY_SQL, rows)
        written += len(rows)
        last = invoices[-1][0]
    conn.close()
    return written


def generate(url: str, clients: int, services: int, invoices: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    today = date.today()
    conn = connect(url)
    t0 = time.monotonic()
    rows = []
    for cid in range(1, clients + 1):
        created = today - timedelta(days=rng.randint(0, 5 * 365))
        rows.append(
            (
                cid,
                f"Nombre{cid}",
                f"Apellido{cid}",
                f"cliente{cid}@example.com.ar",
                f"+54.11{rng.randint(40000000, 69999999)}",
                "AR",
                created,
                weighted(rng, [("Active", 0.8), ("Inactive", 0.15), ("Closed", 0.05)]),
                datetime.combine(created, datetime.min.time()),
            )
        )
    insert_many(
        conn,
        "INSERT INTO tblclients (id, firstname, lastname, email, phonenumber, country,"
        " datecreated, status, created_at, currency) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,1)",
        rows,
    )
    print(f"clients: {clients} in {time.monotonic() - t0:.1f} s", flush=True)
    rows = []
    for sid in range(1, services + 1):
        status = weighted(
            rng,
            [
                ("Active", 0.55),
                ("Suspended", 0.03),
                ("Terminated", 0.25),
                ("Cancelled", 0.12),
                ("Pending", 0.05),
            ],
        )
        due = today + timedelta(days=rng.randint(-900, 365))
        rows.append(
            (
                sid,
                rng.randint(1, clients),
                rng.randint(1, 4),
                f"sitio{sid}.com.ar",
                due,
                due,
                status,
                "Annually",
                "100.00",
            )
        )
    insert_many(
        conn,
        "INSERT INTO tblhosting (id, userid, packageid, domain, nextduedate,"
        " nextinvoicedate, domainstatus, billingcycle, amount, regdate)"
        " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s - INTERVAL 1 YEAR)",
        [(*r, r[4]) for r in rows],
    )
    print(f"services: {services} in {time.monotonic() - t0:.1f} s", flush=True)
    rows, items = [], []
    for iid in range(1, invoices + 1):
        day = today - timedelta(days=int(5 * 365 * (1 - iid / invoices)) + rng.randint(0, 3))
        recent = (today - day).days < 60
        status = weighted(
            rng,
            [("Paid", 0.80), ("Unpaid", 0.15), ("Cancelled", 0.05)]
            if recent
            else [("Paid", 0.93), ("Unpaid", 0.002), ("Cancelled", 0.068)],
        )
        paid = f"{day} 12:00:00" if status == "Paid" else "0000-00-00 00:00:00"
        client = rng.randint(1, clients)
        rows.append((iid, client, day, day + timedelta(days=10), paid, "100.00", "100.00", status))
        items.append((iid, client, rng.randint(1, services), f"Servicio anual {iid}"))
        if len(rows) >= 50000:
            insert_many(
                conn,
                "INSERT INTO tblinvoices (id, userid, date, duedate, datepaid, subtotal,"
                " total, status) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                rows,
            )
            insert_many(
                conn,
                "INSERT INTO tblinvoiceitems (invoiceid, userid, type, relid,"
                " description, amount) VALUES (%s,%s,'Hosting',%s,%s,'100.00')",
                items,
            )
            rows, items = [], []
    if rows:
        insert_many(
            conn,
            "INSERT INTO tblinvoices (id, userid, date, duedate, datepaid, subtotal,"
            " total, status) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
            rows,
        )
        insert_many(
            conn,
            "INSERT INTO tblinvoiceitems (invoiceid, userid, type, relid, description,"
            " amount) VALUES (%s,%s,'Hosting',%s,%s,'100.00')",
            items,
        )
    print(f"invoices: {invoices} in {time.monotonic() - t0:.1f} s", flush=True)
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=300_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument(
        "--url", help="an existing database with the 8.4 schema (default: a new one)"
    )
    parser.add_argument(
        "--activity-only",
        action="store_true",
        help="only add the activity log lines of the history already in --url",
    )
    args = parser.parse_args()
    url = args.url or load_whmcs_schema("8.4")
    if not args.activity_only:
        generate(url, args.clients, args.services, args.invoices)
    t0 = time.monotonic()
    lines = generate_activity(url)
    print(f"activity log: {lines} lines in {time.monotonic() - t0:.1f} s", flush=True)
    print(url)


if __name__ == "__main__":
    main()
