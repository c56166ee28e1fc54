"""Benchmark: ``transfer check`` on a large panel (goal: under 50 ms per check).

    python bench/generate.py --clients 100000 --services 300000 --invoices 1000000
    python bench/transfer_check.py URL [--checks 200]

On a panel made by ``bench/generate.py`` it first adds what a move looks at and the generator
does not write (once; marked by a contact called ``bench-transfer``): an addon and an SSL order
on every 20th service, a domain of the same name on every 10th, a pending upgrade with its
unpaid invoice on every 500th, a cancellation request on every 300th, contacts on every 50th
client. Then it times :func:`check_transfer` (the whole check, as ``transfer check`` runs it,
without the process start) for random (service, target) pairs, targets given by id and by
e-mail in turn, and prints the median, 95th percentile and maximum, and the SQL statements per
check.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date, timedelta

from sqlalchemy import event, func, insert, select
from whmcs_bridge.plugins.transfers.check import check_transfer
from whmcs_bridge.plugins.transfers.settings import TransferSettings

from whmcs_bridge.testing.bridges import make_bridge

MARK = "bench-transfer"


def prepare(bridge: object) -> None:
    """Add addons, SSL orders, domains, upgrades, cancellations and contacts, once."""
    panel = bridge.panel  # type: ignore[attr-defined]
    t = panel.tables
    with panel.begin() as conn:
        if conn.execute(select(t.contacts.c.id).where(t.contacts.c.firstname == MARK)).first():
            return
        services = conn.execute(
            select(t.hosting.c.id, t.hosting.c.userid, t.hosting.c.domain).where(
                t.hosting.c.id % 10 == 0
            )
        ).all()
        clients = conn.execute(select(func.max(t.clients.c.id))).scalar() or 0
        today = date.today()
        top_invoice = conn.execute(select(func.max(t.invoices.c.id))).scalar() or 0
        addons, ssl, domains, upgrades, cancels, invoices, items = [], [], [], [], [], [], []
        for sid, client, domain in services:
            domains.append({"userid": client, "domain": domain, "status": "Active"})
            if sid % 20 == 0:
                addons.append(
                    {"hostingid": sid, "userid": client, "name": "IP", "status": "Active"}
                )
                ssl.append({"userid": client, "serviceid": sid, "status": "Completed"})
            if sid % 500 == 0:
                top_invoice += 1
                upgrades.append(
                    {
                        "id": sid,
                        "userid": client,
                        "relid": sid,
                        "type": "package",
                        "status": "Pending",
                    }
                )
                invoices.append(
                    {
                        "id": top_invoice,
                        "userid": client,
                        "status": "Unpaid",
                        "duedate": today + timedelta(days=5),
                    }
                )
                items.append(
                    {"invoiceid": top_invoice, "userid": client, "type": "Upgrade", "relid": sid}
                )
            if sid % 300 == 0:
                cancels.append({"relid": sid, "type": "Immediate", "reason": "bench"})
        contacts = [
            {"userid": cid, "firstname": MARK, "email": f"contacto{cid}@example.com.ar"}
            for cid in range(50, clients + 1, 50)
        ]
        for table, batch in (
            (t.hostingaddons, addons),
            (t.sslorders, ssl),
            (t.domains, domains),
            (t.upgrades, upgrades),
            (t.invoices, invoices),
            (t.invoiceitems, items),
            (t.cancelrequests, cancels),
            (t.contacts, contacts),
        ):
            for start in range(0, len(batch), 5000):
                conn.execute(insert(table), batch[start : start + 5000])
        print(
            f"prepared: {len(domains)} domains, {len(addons)} addons and SSL orders, "
            f"{len(upgrades)} upgrades, {len(cancels)} cancellations, {len(contacts)} contacts",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--checks", type=int, default=200)
    args = parser.parse_args()
    bridge = make_bridge(args.url, config={"plugins": {"enabled": ["transfers"]}})
    prepare(bridge)
    t = bridge.panel.tables
    with bridge.panel.connect() as conn:
        services = conn.execute(select(func.max(t.hosting.c.id))).scalar() or 0
        clients = conn.execute(select(func.max(t.clients.c.id))).scalar() or 0
    statements: list[str] = []

    @event.listens_for(bridge.panel.engine, "before_cursor_execute")
    def _count(conn, cursor, statement, *rest):  # type: ignore[no-untyped-def]
        statements.append(statement)

    rng = random.Random(15)
    settings = TransferSettings()
    today = bridge.clock.today()
    times, counts, verdicts = [], [], {"allowed": 0, "refused": 0}
    with bridge.panel.connect() as conn:
        for n in range(args.checks + 10):
            service_id = rng.randint(1, services)
            client_id = rng.randint(1, clients)
            target: int | str = client_id if n % 2 else f"cliente{client_id}@example.com.ar"
            statements.clear()
            started = time.perf_counter()
            check = check_transfer(conn, t, settings, service_id, target, today)
            elapsed = time.perf_counter() - started
            if n >= 10:  # the first ones warm the pool and the caches
                times.append(elapsed * 1000)
                counts.append(len(statements))
                verdicts[check.verdict] += 1
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(
        f"transfer check x{len(times)} on {clients} clients, {services} services: "
        f"median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
        f"max {times[-1]:.1f} ms; {statistics.median(counts):.0f} statements per check; "
        f"{verdicts['allowed']} allowed, {verdicts['refused']} refused"
    )
    bridge.close()


if __name__ == "__main__":
    main()
