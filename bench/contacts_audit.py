"""Benchmark: ``contacts audit`` over a panel of 100,000 clients, on both WHMCS models.

    python bench/contacts_audit.py [--clients 100000] [--keep]

Builds a stock 8.4 panel (an owner user per client, 30% of clients with a second user, 2% of
users on several clients, a contact for half the clients, invites) and a stock 7.8 panel (the
same people as contacts, 30% of clients with a sub-account), with a few of every finding spread
in; then times the audit on each (wall clock, and the memory peak of a second, traced run).
The issue asks for under a minute at 100,000 clients.
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from datetime import datetime, timedelta

from generate import connect, insert_many  # bench/generate.py, beside this file
from whmcs_bridge.plugins.contacts.audit import run_audit
from whmcs_bridge.plugins.contacts.settings import ContactSettings

from whmcs_bridge.testing.bridges import make_bridge
from whmcs_bridge.testing.mariadb import drop_database, load_whmcs_schema

RIGHTS = (
    "invoices,tickets",
    "tickets",
    "products,domains,tickets",
    "invoices,quotes",
    "profile,contacts,products,manageproducts,productsso,domains,managedomains,invoices,quotes,"
    "tickets,affiliates,emails,orders",
)
PREFS = "generalemails, invoiceemails, productemails, domainemails, supportemails, affiliateemails"


def fill(url: str, clients: int, users: bool, seed: int = 11) -> None:
    rng = random.Random(seed)
    now = datetime.now().replace(microsecond=0)
    conn = connect(url)

    def email(n: int) -> str:
        # One client in 2,000 registered again with another's e-mail (R-TR-1).
        return f"cliente{n - 1 if n % 2000 == 0 else n}@example.com.ar"

    insert_many(
        conn,
        "INSERT INTO tblclients (id, firstname, lastname, email, country, status, currency)"
        " VALUES (%s,%s,%s,%s,'AR','Active',1)",
        [(n, f"Nombre{n}", f"Apellido{n}", email(n)) for n in range(1, clients + 1)],
    )
    contacts, links, extra_users, invites = [], [], [], []
    for n in range(1, clients + 1):
        if n % 2 == 0:
            invoice = rng.random() < 0.5
            # One contact in 1,000 uses the e-mail of another client's holder (R-TR-8).
            address = f"cliente{n + 1}@example.com.ar" if n % 1000 == 0 else f"pago{n}@example.com"
            contacts.append((n, "Pago", f"Contacto{n}", address, 0, "", int(invoice)))
        if rng.random() < 0.3:
            right = rng.choice(RIGHTS)
            address = f"ayuda{n}@example.com"
            if users:
                extra_users.append((clients + n, "Ayuda", f"Usuario{n}", address))
                last = now - timedelta(days=rng.randint(0, 700))
                links.append((clients + n, n, 0, right, last, now - timedelta(days=800)))
                if rng.random() < 0.02:  # a helper who acts for a handful of clients
                    for other in rng.sample(range(1, clients + 1), 6):
                        if other != n:
                            links.append((clients + n, other, 0, "tickets", None, now))
            else:
                contacts.append((n, "Ayuda", f"Sub{n}", address, 1, right, int(rng.random() < 0.5)))
        if users and rng.random() < 0.01:
            invites.append((f"nuevo{n}@example.com", n, now - timedelta(days=rng.randint(0, 60))))
    insert_many(
        conn,
        "INSERT INTO tblcontacts (userid, firstname, lastname, email, subaccount, permissions,"
        f" {PREFS}) VALUES (%s,%s,%s,%s,%s,%s,0,%s,0,0,0,0)",
        contacts,
    )
    if users:
        insert_many(
            conn,
            "INSERT INTO tblusers (id, first_name, last_name, email) VALUES (%s,%s,%s,%s)",
            [
                (n, f"Nombre{n}", f"Apellido{n}", f"dueno{n}@example.com.ar")
                for n in range(1, clients + 1)
            ]
            + extra_users,
        )
        insert_many(
            conn,
            "INSERT IGNORE INTO tblusers_clients (auth_user_id, client_id, owner, permissions,"
            " last_login, created_at) VALUES (%s,%s,%s,%s,%s,%s)",
            [(n, n, 1, None, now, now) for n in range(1, clients + 1)] + links,
        )
        insert_many(
            conn,
            "INSERT INTO tbluser_invites (token, email, client_id, permissions, created_at)"
            " VALUES ('t',%s,%s,'invoices',%s)",
            invites,
        )
    conn.close()


def measure(url: str) -> tuple[float, float, dict[str, int]]:
    bridge = make_bridge(url, create_tables=False)
    settings = ContactSettings()
    started = time.perf_counter()
    report = run_audit(bridge, settings)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    try:
        run_audit(bridge, settings)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    bridge.close()
    return elapsed, peak, report.counts()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated databases")
    args = parser.parse_args()
    for version in ("8.4", "7.8"):
        url = load_whmcs_schema(version)
        try:
            t0 = time.monotonic()
            fill(url, args.clients, users=version == "8.4")
            print(f"{version}: {args.clients} clients filled in {time.monotonic() - t0:.1f} s")
            elapsed, peak, counts = measure(url)
            print(
                f"{version}: audit {elapsed:.2f} s, memory peak {peak:.0f} MiB; findings {counts}"
            )
        finally:
            if args.keep:
                print(url)
            else:
                drop_database(url)


if __name__ == "__main__":
    main()
