"""Which commands each role has. Telegram shows them per person (setMyCommands scopes) and the
menu offers them as buttons; the services still check every permission on their own.

Each feature adds its commands here, in the order they should appear.
"""

from __future__ import annotations

from bot.domain.people import Role

ALL = frozenset(Role)
STAFF = frozenset({Role.STAFF})
TUTOR = frozenset({Role.TUTOR})
AUDITEUR = frozenset({Role.AUDITEUR})

# command -> roles that have it (order matters: it is the order of Telegram's command list)
COMMANDS: dict[str, frozenset[Role]] = {
    "menu": ALL,
    "rapport": AUDITEUR,
    "plan": AUDITEUR,
    "experience": AUDITEUR,
    "ressources": AUDITEUR | TUTOR,
    "brouillons": ALL,
    "depot": AUDITEUR,
    "echeances": AUDITEUR,
    "rdv": AUDITEUR,
    "mesrdv": AUDITEUR | TUTOR,
    "dispos": TUTOR,
    "suivi": TUTOR | STAFF,
    "inscrire": STAFF,
    "inviter": STAFF,
    "equipe": STAFF,
    "envois": STAFF,
    "mesdonnees": ALL,
    "supprimer": ALL,
    "diffuser": STAFF,
    "aide": ALL,
    "accessibilite": ALL,
    "annuler": ALL,
}

# commands offered as buttons by /menu (the others stay reachable by typing them)
MENU_EXCLUDED = frozenset({"menu", "annuler", "supprimer"})  # erasing is typed, not a menu button

# what someone who is not (yet) known to the bot sees
PUBLIC_COMMANDS: tuple[str, ...] = ("start", "aide", "accessibilite")


def commands_for(role: Role) -> list[str]:
    return [name for name, roles in COMMANDS.items() if role in roles]


def menu_for(role: Role) -> list[str]:
    return [name for name in commands_for(role) if name not in MENU_EXCLUDED]


def allowed(role: Role | None, command: str) -> bool:
    return role is not None and role in COMMANDS.get(command, frozenset())
