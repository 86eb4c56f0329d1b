"""Who may do what: one table of operation × role. Every route names exactly one
operation (through :func:`audit.api.deps.allowed`), and a test walks every pair."""

from __future__ import annotations

POLICY: dict[str, frozenset[str]] = {
    "cases:read": frozenset({"inspector"}),
    "cases:assign": frozenset({"inspector"}),
    "cases:comment": frozenset({"inspector"}),
    "cases:decide": frozenset({"inspector"}),
    "cases:approve": frozenset({"inspector"}),
    "cases:rectify": frozenset({"inspector"}),
    "pii:reveal": frozenset({"inspector"}),
    "detect:run": frozenset({"inspector", "admin"}),
    "log:verify": frozenset({"inspector", "admin"}),
    "checks:run": frozenset({"finance"}),
    "checks:release": frozenset({"finance"}),
    "notices:export": frozenset({"disclosure"}),
    "notices:publish": frozenset({"disclosure"}),
    "datasets:import": frozenset({"admin"}),
    "records:create": frozenset({"finance", "admin"}),
    "records:read": frozenset({"inspector", "finance", "admin"}),
    "tokens:create": frozenset({"admin"}),
    "users:read": frozenset({"admin"}),
}


def allows(role: str, operation: str) -> bool:
    return role in POLICY[operation]
