"""Who may do what: one table of operation × role × scope. Every route names exactly one
operation (through :func:`audit.api.deps.allowed`); a test walks every triple.

A scope is the reach of the user's unit: the whole county, or one town (乡镇), whose
finance office, disclosure staff or discipline office see and act on that town's
villages only (the services narrow every read and refuse every write outside it). The
``machine`` role is a program's (an import job, the bank's result file): it holds no
inspector operation, so no one can use a machine token to fill a second pair of eyes.
"""

from __future__ import annotations

COUNTY, TOWN = "county", "town"
ANY = frozenset({COUNTY, TOWN})
CENTRAL = frozenset({COUNTY})

POLICY: dict[str, dict[str, frozenset[str]]] = {
    "cases:read": {"inspector": ANY},
    "cases:assign": {"inspector": ANY},
    "cases:comment": {"inspector": ANY},
    "cases:decide": {"inspector": ANY},
    "cases:approve": {"inspector": ANY},
    "cases:rectify": {"inspector": ANY},
    "pii:reveal": {"inspector": ANY},
    # Residents' complaints from the public window (群众投诉): leads, read and answered on
    # record by inspectors, a town's within its town.
    "complaints:read": {"inspector": ANY},
    "complaints:answer": {"inspector": ANY},
    # Clue hand-out (集中交办): the county hands batches of cases to a town and closes them;
    # the town's inspectors read their own, record outcomes and return them.
    "handouts:read": {"inspector": ANY},
    "handouts:create": {"inspector": CENTRAL},
    "handouts:return": {"inspector": ANY},
    "handouts:outcome": {"inspector": ANY},
    # Watchlists (我的关注): an inspector's own watches and the notifications they bring;
    # a town's inspector watches what lives in their town.
    "watches:use": {"inspector": ANY},
    "detect:run": {"inspector": CENTRAL, "admin": CENTRAL, "machine": CENTRAL},
    "log:verify": {"inspector": CENTRAL, "admin": CENTRAL},
    "checks:run": {"finance": ANY, "machine": CENTRAL},
    "checks:release": {"finance": ANY},
    "checks:approve": {"finance": ANY},
    # A notice is public (masked, posted on the village board): finance offices read and
    # print the notice of a batch they are about to pay. Recording that it was posted stays
    # with disclosure staff, so no finance officer clears their own FP-03 hold.
    "notices:export": {"disclosure": ANY, "finance": ANY},
    "notices:publish": {"disclosure": ANY},
    "datasets:import": {"admin": CENTRAL, "machine": CENTRAL},
    "records:create": {"admin": CENTRAL, "machine": CENTRAL},
    "records:read": {"inspector": ANY, "finance": ANY, "admin": CENTRAL, "machine": CENTRAL},
    "jobs:read": {"inspector": ANY, "finance": ANY, "disclosure": ANY, "admin": CENTRAL, "machine": CENTRAL},
    "tokens:create": {"inspector": ANY, "finance": ANY, "disclosure": ANY, "admin": CENTRAL, "machine": CENTRAL},
    "tokens:manage": {"admin": CENTRAL},
    "users:read": {"admin": CENTRAL},
    "users:manage": {"admin": CENTRAL},
    "settings:manage": {"admin": CENTRAL},
}

# What every signed-in user may do on their own account, whatever the role: not in the
# table, since no route of it touches anyone else's data.
SELF_SERVICE = ("auth:self",)


def allows(role: str, operation: str, scope: str = COUNTY) -> bool:
    return scope in POLICY[operation].get(role, frozenset())


def role_may(role: str, operation: str) -> bool:
    """Whether the role may do the operation in some scope (what the screens show)."""
    return bool(POLICY[operation].get(role))
