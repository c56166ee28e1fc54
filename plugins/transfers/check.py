"""Whether a service may move to another client: every reason against it, and what staff must see.

:func:`check_transfer` reads the panel once through the shared queries and returns a
:class:`TransferCheck`: the verdict (``allowed`` or ``refused``), every reason that refuses it
(not only the first), each with its rule, a code and the ids involved, and the flags that do not
refuse but must be seen before applying. The check is stored with each request as JSON, so what
staff decided on can be read back later.

Reasons: ``service_not_active`` (R-TR-7), ``same_client`` (R-TR-1), ``target_missing`` and
``target_not_active`` (R-TR-2), ``target_ambiguous`` and ``same_email`` (R-TR-1, R-TR-8),
``overdue_invoices`` on either side (R-TR-6), and what WHMCS's own move refuses or leaves behind
(whmcs.md §3.6): ``unpaid_service_items``, ``pending_upgrade``, ``open_cancellation``,
``currency_mismatch``. Flags: ``details_differ`` (R-TR-4), ``addons_move``, ``domain_stays``.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import Connection

from whmcs_bridge.plugin import PanelTables, normalise_phone, queries

from .model import WHMCS, BadTransferArgument, Flag, Party, Reason, TransferCheck
from .settings import DETAILS, TransferSettings


def _party(info: queries.ClientInfo) -> Party:
    return Party(
        id=info.id,
        name=info.full_name,
        company=info.company,
        email=info.email,
        status=info.status,
        currency=info.currency.code,
    )


def _squash(text: str) -> str:
    return " ".join(str(text).lower().split())


def _phone(info: queries.ClientInfo) -> str:
    result = normalise_phone(info.phone, info.country)
    return result.e164 or re.sub(r"\D", "", info.phone)


def _address(info: queries.ClientInfo) -> str:
    return _squash(" ".join((info.address1, info.address2, info.city, info.state, info.postcode)))


def details_that_differ(a: queries.ClientInfo, b: queries.ClientInfo) -> list[str]:
    """Which of the R-TR-4 details (:data:`DETAILS`) differ between two clients."""
    pairs = {
        "name": (_squash(a.full_name), _squash(b.full_name)),
        "company": (_squash(a.company), _squash(b.company)),
        "country": (a.country.upper(), b.country.upper()),
        "phone": (_phone(a), _phone(b)),
        "address": (_address(a), _address(b)),
    }
    return [name for name in DETAILS if pairs[name][0] != pairs[name][1]]


def _target(
    conn: Connection, tables: PanelTables, target: int | str, reasons: list[Reason]
) -> queries.ClientInfo | None:
    if isinstance(target, int):
        found = queries.client(conn, tables, target)
        if found is None:
            reasons.append(
                Reason(
                    "target_missing",
                    "R-TR-2",
                    f"client {target} does not exist: create the client first, then check again",
                    {"client_id": target},
                )
            )
        return found
    matches = queries.clients_by_email(conn, tables, target)
    if not matches:
        reasons.append(
            Reason(
                "target_missing",
                "R-TR-2",
                f"no client has the e-mail {target}: create the client first, then check again",
                {"email": target},
            )
        )
        return None
    if len(matches) > 1:
        ids = [m.id for m in matches]
        reasons.append(
            Reason(
                "target_ambiguous",
                "R-TR-1",
                f"clients {', '.join(map(str, ids))} share the e-mail {target}: "
                "no two clients may; name the client by id once that is fixed",
                {"client_ids": ids},
            )
        )
    return matches[0]


def _service_reasons(
    conn: Connection, tables: PanelTables, service: queries.ServiceInfo, reasons: list[Reason]
) -> None:
    if service.status != "Active":
        reasons.append(
            Reason(
                "service_not_active",
                "R-TR-7",
                f"the service is {service.status}: only active services move",
                {"service_id": service.id, "status": service.status},
            )
        )
    unpaid = [
        line
        for line in queries.unpaid_items_of_service(conn, tables, service.id)
        if line.item.type != "Upgrade"  # a pending upgrade is its own reason
    ]
    if unpaid:
        invoice_ids = sorted({line.item.invoice_id for line in unpaid})
        reasons.append(
            Reason(
                "unpaid_service_items",
                WHMCS,
                "the service or its addons are on unpaid invoice(s) "
                f"{', '.join(map(str, invoice_ids))}: WHMCS refuses to move it until they are "
                "paid or cancelled",
                {"invoice_ids": invoice_ids, "item_ids": [line.item.id for line in unpaid]},
            )
        )
    addon_ids = [addon.id for addon in service.addons]
    upgrades = queries.moves.pending_upgrades_of_service(conn, tables, service.id, addon_ids)
    if upgrades:
        reasons.append(
            Reason(
                "pending_upgrade",
                WHMCS,
                "an upgrade of the service waits for payment (invoice "
                f"{', '.join(str(u.invoice_id) for u in upgrades)}): its invoice would stay "
                "with the old owner",
                {
                    "upgrade_ids": [u.id for u in upgrades],
                    "invoice_ids": sorted({u.invoice_id for u in upgrades}),
                },
            )
        )
    cancellation = queries.cancellations.open_cancellation(conn, tables, service.id)
    if cancellation is not None:
        reasons.append(
            Reason(
                "open_cancellation",
                WHMCS,
                f"the service has an open cancellation request ({cancellation.type}): "
                "withdraw it or let it take effect first",
                {"cancel_request_id": cancellation.id},
            )
        )


def _overdue(
    conn: Connection,
    tables: PanelTables,
    sides: list[tuple[str, queries.ClientInfo]],
    today: date,
    reasons: list[Reason],
) -> None:
    """R-TR-6 for the holder and, when it exists, the new holder: one query for both."""
    found = queries.overdue_invoice_ids(conn, tables, [c.id for _, c in sides], today)
    for side, client in sides:
        ids = found.get(client.id)
        if ids:
            who = "current" if side == "from" else "new"
            reasons.append(
                Reason(
                    "overdue_invoices",
                    "R-TR-6",
                    f"client {client.id} ({who} holder) has overdue invoice(s) "
                    f"{', '.join(map(str, ids))}: both accounts must be up to date",
                    {"side": side, "client_id": client.id, "invoice_ids": ids},
                )
            )


def _client_reasons(
    conn: Connection,
    tables: PanelTables,
    holder: queries.ClientInfo,
    recipient: queries.ClientInfo,
    reasons: list[Reason],
) -> None:
    if recipient.status != "Active":
        reasons.append(
            Reason(
                "target_not_active",
                "R-TR-2",
                f"client {recipient.id} is {recipient.status}: the new holder must be active",
                {"client_id": recipient.id, "status": recipient.status},
            )
        )
    shared = queries.moves.shared_emails(
        conn, tables, (holder.id, holder.email), (recipient.id, recipient.email)
    )
    if shared:
        emails = sorted({s.email for s in shared})
        reasons.append(
            Reason(
                "same_email",
                "R-TR-8",
                f"both accounts share the e-mail {', '.join(emails)}: each account needs its "
                "own e-mail (R-TR-1)",
                {
                    "emails": emails,
                    "holders": [
                        {"client_id": s.client_id, "kind": s.kind, "id": s.person_id}
                        for s in shared
                    ],
                },
            )
        )
    if holder.currency.id != recipient.currency.id:
        reasons.append(
            Reason(
                "currency_mismatch",
                WHMCS,
                f"the service is billed in {holder.currency.code or holder.currency.id}, client "
                f"{recipient.id} in {recipient.currency.code or recipient.currency.id}: WHMCS "
                "would keep the old amounts in the wrong currency",
                {
                    "from_currency": holder.currency.code,
                    "to_currency": recipient.currency.code,
                },
            )
        )


def _flags(
    conn: Connection,
    tables: PanelTables,
    settings: TransferSettings,
    service: queries.ServiceInfo,
    holder: queries.ClientInfo,
    recipient: queries.ClientInfo | None,
) -> list[Flag]:
    flags: list[Flag] = []
    if recipient is not None and recipient.id != holder.id:
        differ = details_that_differ(holder, recipient)
        if len(differ) >= settings.details_differ_at:
            flags.append(
                Flag(
                    "details_differ",
                    "R-TR-4",
                    f"the holders' {', '.join(differ)} differ: verify by phone before applying",
                    {"fields": differ},
                )
            )
    ssl_ids = queries.moves.ssl_orders_of_service(conn, tables, service.id)
    if service.addons or ssl_ids:
        names = [f"#{a.id} {a.name} ({a.status})" for a in service.addons]
        what = names + [f"SSL order #{i}" for i in ssl_ids]
        flags.append(
            Flag(
                "addons_move",
                WHMCS,
                f"these move with the service: {'; '.join(what)}",
                {"addon_ids": [a.id for a in service.addons], "ssl_order_ids": ssl_ids},
            )
        )
    domains = queries.moves.domains_named(conn, tables, holder.id, service.domain)
    if domains:
        flags.append(
            Flag(
                "domain_stays",
                WHMCS,
                f"the domain {domains[0].domain} stays with client {holder.id} unless it is "
                "moved too (transfer apply --with-domain)",
                {"domain_ids": [d.id for d in domains], "domain": domains[0].domain},
            )
        )
    return flags


def check_transfer(
    conn: Connection,
    tables: PanelTables,
    settings: TransferSettings,
    service_id: int,
    target: int | str,
    today: date,
) -> TransferCheck:
    """Judge moving service ``service_id`` to ``target`` (a client id or e-mail) on ``today``.

    :raises BadTransferArgument: there is no such service.
    """
    service = queries.service(conn, tables, service_id)
    if service is None:
        raise BadTransferArgument(f"--service {service_id}: no such service in the panel")
    holder = queries.client(conn, tables, service.client_id)
    if holder is None:
        raise BadTransferArgument(
            f"--service {service_id}: its client {service.client_id} is not in the panel"
        )
    reasons: list[Reason] = []
    _service_reasons(conn, tables, service, reasons)
    recipient = _target(conn, tables, target, reasons)
    sides = [("from", holder)]
    if recipient is not None and recipient.id != holder.id:
        sides.append(("to", recipient))
    _overdue(conn, tables, sides, today, reasons)
    if recipient is not None and recipient.id == holder.id:
        reasons.append(
            Reason(
                "same_client",
                "R-TR-1",
                f"the service already belongs to client {holder.id}",
                {"client_id": holder.id},
            )
        )
    elif recipient is not None:
        _client_reasons(conn, tables, holder, recipient, reasons)
    return TransferCheck(
        service_id=service.id,
        target=str(target),
        checked_on=today,
        service={
            "id": service.id,
            "client_id": service.client_id,
            "product": service.product_name,
            "domain": service.domain,
            "status": service.status,
        },
        holder=_party(holder),
        recipient=_party(recipient) if recipient is not None else None,
        reasons=tuple(reasons),
        flags=tuple(_flags(conn, tables, settings, service, holder, recipient)),
    )
