"""Who may do what. Checked by the services on every call, not only by hiding buttons."""

from __future__ import annotations

from bot.domain.people import PersonView, Role


# The command line runs with database access on the server: it acts as staff.
COMMAND_LINE = PersonView(id=0, role=Role.STAFF, display_name="coachbot (command line)", telegram_user_id=None)


class PermissionDenied(Exception):
    """The actor's role does not allow the action; `action` names it for the logs."""

    def __init__(self, action: str, actor: PersonView | None) -> None:
        who = f"person {actor.id} ({actor.role})" if actor else "an unknown user"
        super().__init__(f"{who} may not {action}")
        self.action = action
        self.actor = actor


def require_role(actor: PersonView | None, action: str, *roles: Role) -> PersonView:
    if actor is None or actor.role not in roles:
        raise PermissionDenied(action, actor)
    return actor


def require_staff(actor: PersonView | None, action: str) -> PersonView:
    return require_role(actor, action, Role.STAFF)


def may_see_auditeur(actor: PersonView, auditeur_id: int, tutor_id: int | None) -> bool:
    """An auditeur sees only their own data, a tutor only their auditeurs, staff everyone."""
    if actor.role is Role.STAFF:
        return True
    if actor.role is Role.AUDITEUR:
        return actor.id == auditeur_id
    return tutor_id is not None and actor.id == tutor_id
