"""WHMCS's permission keys with the labels a person reads, named presets, and key parsing.

The keys are the panel's own (R-CT-2, ``whmcs.md`` §6.2); labels are WHMCS's client-area texts
in English and Spanish, so what a client reads here matches what the panel shows.
"""

from __future__ import annotations

from collections.abc import Iterable

from whmcs_bridge.plugin import BridgeError, queries

PERMISSIONS: tuple[str, ...] = queries.people.PERMISSIONS

#: key -> (English label, Spanish label), from WHMCS's language files (whmcs.md §6.2).
LABELS: dict[str, tuple[str, str]] = {
    "profile": ("Modify Master Account Profile", "Modificar el perfil de la cuenta principal"),
    "contacts": ("View & Manage Contacts", "Ver & Gestionar contactos"),
    "products": ("View Products & Services", "Ver Productos & Servicios"),
    "manageproducts": (
        "View & Modify Product Passwords",
        "Ver & Modificar contraseñas de producto",
    ),
    "productsso": ("Perform Single Sign-On", "Configurar Inicio de Sesión Simple"),
    "domains": ("View Domains", "Ver dominios"),
    "managedomains": ("Manage Domain Settings", "Administrar Configuración de Dominio"),
    "invoices": ("View & Pay Invoices", "Ver & Pagar facturas"),
    "quotes": ("View & Accept Quotes", "Ver y Aceptar Presupuestos"),
    "tickets": ("View & Open Support Tickets", "Ver & Abrir tickets de soporte"),
    "affiliates": ("View & Manage Affiliate Account", "Ver & Administrar cuenta afiliada"),
    "emails": ("View Emails", "Ver Emails"),
    "orders": (
        "Place New Orders/Upgrades/Cancellations",
        "Establecer Nuevas Solicitudes/ Actualizaciones/Cancelaciones",
    ),
}

#: Named sets of rights for the common cases (``--preset``).
PRESETS: dict[str, tuple[str, ...]] = {
    "billing": ("invoices", "quotes"),
    "support": ("tickets",),
    "technical": ("products", "manageproducts", "domains", "managedomains", "tickets"),
    "all": PERMISSIONS,
}

#: Rights whose gain the owner is told about by default (issue 10, item 4).
SENSITIVE: tuple[str, ...] = (
    "profile",
    "contacts",
    "managedomains",
    "invoices",
    "emails",
    "orders",
)


def label(key: str, language: str) -> str:
    """The label of a key in ``es_AR`` (Spanish) or ``en``; the key itself when unknown."""
    english, spanish = LABELS.get(key, (key, key))
    return english if language == "en" else spanish


def labelled(keys: Iterable[str], language: str = "es_AR") -> str:
    """``invoices (Ver y pagar facturas), tickets (...)``: keys with labels, for admins."""
    return ", ".join(f"{key} ({label(key, language)})" for key in keys) or "-"


def canonical(keys: Iterable[str]) -> tuple[str, ...]:
    """Keys in WHMCS's order, each once."""
    wanted = set(keys)
    return tuple(key for key in PERMISSIONS if key in wanted)


def parse_keys(text: str | None, preset: str | None = None) -> tuple[str, ...]:
    """The keys of ``--permission a,b`` and ``--preset``, canonical; refuses unknown ones.

    :raises BridgeError: one line naming the unknown key(s) and listing the valid ones.
    """
    keys: list[str] = []
    if preset is not None:
        name = preset.strip().lower()
        if name not in PRESETS:
            raise BridgeError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
        keys.extend(PRESETS[name])
    parts = [part.strip().lower() for part in (text or "").split(",") if part.strip()]
    unknown = [part for part in parts if part not in PERMISSIONS]
    if unknown:
        raise BridgeError(
            f"unknown permission {', '.join(repr(u) for u in unknown)}; "
            f"valid keys: {', '.join(PERMISSIONS)}"
        )
    keys.extend(parts)
    if not keys:
        raise BridgeError(
            f"name at least one right with --permission or --preset; "
            f"valid keys: {', '.join(PERMISSIONS)}; presets: {', '.join(PRESETS)}"
        )
    return canonical(keys)
