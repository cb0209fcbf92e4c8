"""Every route of the bot, in one table: commands, buttons, conversation flows, and demo seeders.

Read top to bottom, this is what the bot understands. `bot/app.py` installs it on each Application
(in its bot_data: two Applications in one process share nothing); `bot/telegram/routing.py` runs a
route: answers the button once, identifies the person once, checks the role guard, and turns any
failure into one apology.

- A command is guarded by its own name: the roles in `capabilities.COMMANDS` (`guarded=False`:
  anyone, even people the bot does not know yet).
- A button `namespace:action[:args]` names the command whose roles may press it (None: anyone; the
  handler checks). `"*"` catches the namespace's other actions (old or forged buttons).
- A flow is what the next text or document does while a person is in that stored conversation.
- The outbox's preparers and builders: what the sender reads or makes when it delivers a message.
"""

from __future__ import annotations

from bot.handlers import accompaniment, booking, coach, common, deliveries, drafts, membership, onboarding, personal_data, staff
from bot.handlers import broadcasts
from bot.services import broadcasts as broadcast_documents
from bot.domain.accompaniment import REMINDER_KINDS
from bot.services.booking import seed_demo_availability
from bot.telegram.routing import ANY_ACTION, Action, Command, Fallbacks, Flow, Routes


def build_routes() -> Routes:
    return Routes(
        commands=(
            Command("start", onboarding.start, guarded=False),
            Command("menu", common.menu),
            Command("rapport", coach.report_command),
            Command("plan", coach.plan_command),
            Command("experience", coach.experience_command),
            Command("ressources", coach.resources_command),
            Command("aide", common.help_command, guarded=False),
            Command("accessibilite", common.accessibility, guarded=False),
            Command("annuler", common.cancel, guarded=False),
            Command("inscrire", staff.enrol_command),
            Command("inviter", staff.invite_command),
            Command("equipe", staff.team_command),
            Command("envois", deliveries.deliveries_command),
            Command("brouillons", drafts.drafts_command),
            Command("depot", drafts.depot_command),
            Command("rdv", booking.rdv_command),
            Command("mesrdv", booking.mesrdv_command),
            Command("dispos", booking.dispos_command),
            Command("mesdonnees", personal_data.mesdonnees_command),
            Command("supprimer", personal_data.supprimer_command),
            Command("diffuser", broadcasts.start),
            Command("echeances", accompaniment.echeances_command),
            Command("suivi", accompaniment.suivi_command),
        ),
        actions=(
            # onboarding: the data-protection notice (the person is not bound yet)
            Action("consent", "yes", onboarding.consent_accepted, guard=None),
            Action("consent", "no", onboarding.consent_refused, guard=None),
            # /menu buttons run the command they name, through its own guard
            Action("menu", ANY_ACTION, common.menu_button, guard=None),
            # /dispos (tutor)
            Action("dispo", "win", booking.dispo_ask, guard="dispos"),
            Action("dispo", "off", booking.dispo_ask, guard="dispos"),
            Action("dispo", "video", booking.dispo_ask, guard="dispos"),
            Action("dispo", "opt", booking.dispo_option, guard="dispos"),
            Action("dispo", "set", booking.dispo_set, guard="dispos"),
            Action("dispo", "delw", booking.dispo_remove_window, guard="dispos"),
            Action("dispo", "deld", booking.dispo_remove_day_off, guard="dispos"),
            Action("dispo", "offx", booking.dispo_day_off_cancel, guard="dispos"),
            Action("dispo", "offkeep", booking.dispo_day_off_keep, guard="dispos"),
            Action("dispo", ANY_ACTION, booking.dispo_stale, guard="dispos"),
            # /rdv (auditeur): lengths, weeks of slots, booking and moving
            Action("rdv", "start", booking.rdv_start, guard="rdv"),
            Action("rdv", "len", booking.rdv_length, guard="rdv"),
            Action("rdv", "week", booking.rdv_week, guard="rdv"),
            Action("rdv", "mweek", booking.rdv_move_week, guard="rdv"),
            Action("rdv", "book", booking.rdv_book, guard="rdv"),
            Action("rdv", "ok", booking.rdv_confirm, guard="rdv"),
            Action("rdv", "move", booking.rdv_move, guard="rdv"),
            Action("rdv", "moveok", booking.rdv_move_confirm, guard="rdv"),
            Action("rdv", ANY_ACTION, booking.rdv_stale, guard="rdv"),
            # /mesrdv (both): a listed meeting
            Action("mrdv", "cancel", booking.mrdv_cancel, guard="mesrdv"),
            Action("mrdv", "cancelok", booking.mrdv_cancel_confirmed, guard="mesrdv"),
            Action("mrdv", "move", booking.mrdv_move, guard="mesrdv"),
            Action("mrdv", "held", booking.mrdv_held, guard="mesrdv"),
            Action("mrdv", "missed", booking.mrdv_missed, guard="mesrdv"),
            Action("mrdv", ANY_ACTION, booking.mrdv_stale, guard="mesrdv"),
            # /inscrire (staff): the enrolment form
            Action("enrol", "tutor", staff.enrol_tutor_chosen, guard="inscrire"),
            Action("enrol", "report_type", staff.enrol_report_type_chosen, guard="inscrire"),
            Action("enrol", "experience", staff.enrol_experience_chosen, guard="inscrire"),
            Action("enrol", "semester", staff.enrol_semester_chosen, guard="inscrire"),
            Action("enrol", "confirm", staff.enrol_confirmed, guard="inscrire"),
            Action("enrol", "abort", staff.enrol_aborted, guard="inscrire"),
            # /equipe (staff): a person's card, a new code, revoke the code, detach the Telegram account
            Action("team", "list", staff.team_list, guard="equipe"),
            Action("team", "show", staff.team_show, guard="equipe"),
            Action("team", "reissue", staff.team_reissue, guard="equipe"),
            Action("team", "revoke", staff.team_revoke, guard="equipe"),
            Action("team", "unbind", staff.team_unbind, guard="equipe"),
            Action("team", "unbindok", staff.team_unbind_confirmed, guard="equipe"),
            # /inviter (staff): a likely duplicate to confirm
            Action("invite", "confirm", staff.invite_confirmed, guard="inviter"),
            Action("invite", "abort", staff.invite_aborted, guard="inviter"),
            # /rapport (auditeur): the guided coach
            Action("coach", "overview", coach.coach_overview, guard="rapport"),
            Action("coach", "open", coach.coach_open, guard="rapport"),
            Action("coach", "next", coach.coach_next, guard="rapport"),
            Action("coach", "skip", coach.coach_skip, guard="rapport"),
            Action("coach", "back", coach.coach_back, guard="rapport"),
            Action("coach", "edit", coach.coach_edit, guard="rapport"),
            Action("coach", "keep", coach.coach_keep, guard="rapport"),
            Action("coach", "later", coach.coach_later, guard="rapport"),
            Action("coach", "finish", coach.coach_finish, guard="rapport"),
            Action("coach", ANY_ACTION, coach.coach_stale, guard="rapport"),
            # /experience, /ressources
            Action("exp", ANY_ACTION, coach.experience_button, guard="experience"),
            Action("res", "doc", coach.resources_document, guard="ressources"),
            Action("res", ANY_ACTION, coach.resources_page, guard="ressources"),
            # /brouillons, /depot
            Action("drafts", "list", drafts.drafts_list, guard="brouillons"),
            Action("drafts", "file", drafts.drafts_file, guard="brouillons"),
            Action("depot", "version", drafts.depot_version, guard="depot"),
            Action("depot", "choose", drafts.depot_choose, guard="depot"),
            Action("depot", "show", drafts.depot_show, guard="depot"),
            Action("depot", "manage", drafts.depot_manage, guard="depot"),
            Action("depot", "assemble", drafts.depot_assemble, guard="depot"),
            Action("depot", "rename", drafts.depot_rename, guard="depot"),
            Action("depot", "up", drafts.depot_up, guard="depot"),
            Action("depot", "down", drafts.depot_down, guard="depot"),
            Action("depot", "remove", drafts.depot_remove, guard="depot"),
            Action("depot", "cancel", drafts.depot_cancel, guard="depot"),
            # /supprimer: the confirmation (erases the presser's own data only)
            Action("erase", "yes", personal_data.erase_confirmed, guard="supprimer"),
            Action("erase", "no", personal_data.erase_declined, guard="supprimer"),
            # /diffuser (staff): audience, preview, send or schedule, pause/resume/cancel, scheduled, announcements
            Action("bcast", "aud", broadcasts.audience_chosen, guard="diffuser"),
            Action("bcast", "sem", broadcasts.value_chosen, guard="diffuser"),
            Action("bcast", "cert", broadcasts.value_chosen, guard="diffuser"),
            Action("bcast", "stage", broadcasts.value_chosen, guard="diffuser"),
            Action("bcast", "send", broadcasts.send_pressed, guard="diffuser"),
            Action("bcast", "when", broadcasts.when_pressed, guard="diffuser"),
            Action("bcast", "drop", broadcasts.drop_pressed, guard="diffuser"),
            Action("bcast", "pause", broadcasts.sending_pressed, guard="diffuser"),
            Action("bcast", "resume", broadcasts.sending_pressed, guard="diffuser"),
            Action("bcast", "cancel", broadcasts.sending_pressed, guard="diffuser"),
            Action("bcast", "list", broadcasts.list_pressed, guard="diffuser"),
            Action("bcast", "show", broadcasts.show_pressed, guard="diffuser"),
            Action("bcast", "edit", broadcasts.edit_pressed, guard="diffuser"),
            Action("bcast", "ann", broadcasts.announcements_pressed, guard="diffuser"),
            Action("bcast", "cal", broadcasts.calendar_pressed, guard="diffuser"),
            Action("bcast", "annok", broadcasts.schedule_announcements_pressed, guard="diffuser"),
            # the accompaniment: the auditeur's drafts and submission (/echeances), the tutor's and
            # staff's follow-up (/suivi: planning, correction, opinion, staff contact)
            Action("drafts", "send", accompaniment.send_draft_button, guard="echeances"),
            Action("acc", "submit", accompaniment.submit_button, guard="echeances"),
            Action("acc", "grid", accompaniment.grid_button, guard=None),
            Action("acc", "show", accompaniment.show_button, guard="suivi"),
            Action("acc", "plan", accompaniment.plan_button, guard="suivi"),
            Action("acc", "corr", accompaniment.correction_button, guard="suivi"),
            Action("acc", "corrsend", accompaniment.correction_send_button, guard="suivi"),
            Action("acc", "op", accompaniment.opinion_button, guard="suivi"),
            Action("acc", "g", accompaniment.assess_button, guard="suivi"),
            Action("acc", "v", accompaniment.verdict_button, guard="suivi"),
            Action("acc", "case", accompaniment.case_button, guard="suivi"),
            Action("acc", "casec", accompaniment.case_choice_button, guard="suivi"),
            # staff (checked by the service): the academic calendar, a certifier's grid
            Action("acc", "cal", accompaniment.calendar_button, guard="suivi"),
            Action("acc", "caly", accompaniment.calendar_year_button, guard="suivi"),
            Action("acc", "grids", accompaniment.grids_button, guard="suivi"),
            Action("acc", "gridc", accompaniment.grid_choice_button, guard="suivi"),
            Action("acc", ANY_ACTION, accompaniment.acc_stale, guard=None),
        ),
        flows=(
            Flow(booking.FLOW, guard="dispos", text=booking.dispos_text),
            Flow(booking.CONFIRM_FLOW, guard="rdv", text=booking.confirm_text),
            Flow(staff.ENROL_FLOW, guard="inscrire", text=staff.enrol_text),
            Flow(staff.INVITE_FLOW, guard="inviter", text=staff.invite_text),
            Flow(coach.COACH_FLOW, guard="rapport", text=coach.coach_text),
            Flow(coach.EXPERIENCE_FLOW, guard="experience", text=coach.experience_text),
            Flow(accompaniment.PLANNING_FLOW, guard="suivi", text=accompaniment.planning_text),
            Flow(accompaniment.CORRECTION_FLOW, guard="suivi", text=accompaniment.correction_text,
                 document=accompaniment.correction_document),
            Flow(accompaniment.OPINION_FLOW, guard="suivi", text=accompaniment.opinion_text),
            Flow(accompaniment.CASE_FLOW, guard="suivi", text=accompaniment.case_text),
            Flow(accompaniment.CALENDAR_FLOW, guard="suivi", text=accompaniment.calendar_text),
            Flow(accompaniment.GRID_FLOW, guard="suivi", text=accompaniment.grid_text, document=accompaniment.grid_document),
            Flow(drafts.DEPOT_FLOW, guard="depot", text=drafts.depot_text, document=drafts.depot_document),
            Flow(broadcasts.FLOW, guard="diffuser", text=broadcasts.on_text, document=broadcasts.on_document),
        ),
        fallbacks=Fallbacks(
            text=common.text_message,
            document=drafts.draft_document,
            command=common.unknown_command,
            unsupported=common.unsupported_message,
            button=common.stale_button,
            chat_member=membership.chat_member_changed,
        ),
        demo_seeders=(seed_demo_availability,),
        # what the outbox sender reads or makes at send time, by message kind / document builder
        outbox_preparers={
            "meeting.reminder": booking.prepare_meeting_reminder,
            "draft.to_tutor": drafts.prepare_draft_for_tutor,
            "draft.to_tutor.file": drafts.prepare_draft_for_tutor,
            # deadline reminders: sent only while the accompaniment is at the stage they were written for
            **{kind: accompaniment.prepare_reminder for kind in REMINDER_KINDS},
        },
        outbox_builders={
            "meeting_ics": booking.ics_builder,
            broadcast_documents.DOCUMENT_BUILDER: broadcasts.document_builder,
        },
    )
