"""The composition root: builds the python-telegram-bot Application and wires every handler.

Handler order matters within group 0: commands first, then callback buttons by namespace, then
documents and free text (routed to the person's conversation), then the catch-alls for stale
buttons and unknown commands. Features add their handlers in `_feature_handlers` below.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.domain import capabilities
from bot.handlers import common, errors, membership, onboarding, staff
from bot.handlers import drafts as draft_handlers
from bot.handlers import coach
from bot.handlers import booking
from bot.domain import pdf_sandbox
from bot.services.container import Services
from bot.storage.db import Database
from bot.telegram.commands import publish_commands_for, publish_default_commands
from bot.telegram.context import BotContext
from bot.telegram.log_redaction import install_redaction
from bot.telegram.messenger import Messenger
from bot.telegram.rate_limiter import PriorityRateLimiter
from bot.telegram.sender import OutboxSender
from bot.telegram.rendering import Renderer
from bot.telegram.update_processor import PerUserUpdateProcessor
from bot.telegram import webhook

log = logging.getLogger(__name__)


def _command_callbacks() -> dict[str, common.CommandCallback]:
    """Every slash command the bot understands (besides /start), by name."""
    return {
        "menu": common.menu,
        "rapport": coach.report_command,
        "plan": coach.plan_command,
        "experience": coach.experience_command,
        "ressources": coach.resources_command,
        "aide": common.help_command,
        "accessibilite": common.accessibility,
        "annuler": common.cancel,
        "inscrire": staff.enrol_command,
        "inviter": staff.invite_command,
        "equipe": staff.team_command,
        "brouillons": draft_handlers.drafts_command,
        "depot": draft_handlers.depot_command,
        "rdv": booking.rdv_command,
        "mesrdv": booking.mesrdv_command,
        "dispos": booking.dispos_command,
    }


def _callback_handlers() -> list[tuple[str, object]]:
    """Inline buttons, by callback-data namespace."""
    return [
        ("consent", onboarding.consent_button),
        ("dispo", booking.dispo_button),
        ("rdv", booking.rdv_button),
        ("mrdv", booking.mrdv_button),
        ("enrol", staff.enrol_button),
        ("menu", common.menu_button),
        ("coach", coach.coach_button),
        ("exp", coach.experience_button),
        ("res", coach.resources_button),
        ("drafts", draft_handlers.drafts_button),
        ("depot", draft_handlers.depot_button),
    ]


def build_application(settings: Settings, *, db: Database | None = None) -> Application:
    install_redaction([settings.require_token()])
    webhook.install()  # webhook mode answers 400 to a body that is not an update
    _configure_pdf_sandbox()
    db = db or Database(settings.database_url)
    services = Services.build(settings, db)
    renderer = Renderer(timezone=settings.timezone)
    processor = PerUserUpdateProcessor()
    application = (
        Application.builder()
        .token(settings.require_token())
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_url)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(processor)
        .rate_limiter(PriorityRateLimiter(replies_per_second=settings.delivery.replies_per_second))
        .connect_timeout(10)
        .read_timeout(30)
        .write_timeout(60)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data["services"] = services
    application.bot_data["renderer"] = renderer
    application.bot_data["messenger"] = Messenger(application.bot, renderer, services.directory)
    application.bot_data["processor"] = processor
    application.bot_data["sender"] = _build_sender(application, services, renderer)
    _register_handlers(application)
    return application


def _outbox_preparers(services: Services) -> dict:
    """Outbox kinds whose content is read when they are sent (a reminder shows the meeting as it is)."""

    def bound(prepare):
        async def call(row, now):
            return await prepare(services, row, now)

        return call

    return {
        "meeting.reminder": bound(booking.prepare_meeting_reminder),
        "draft.to_tutor": bound(draft_handlers.prepare_draft_for_tutor),
        "draft.to_tutor.file": bound(draft_handlers.prepare_draft_for_tutor),
    }


def _outbox_builders(renderer: Renderer) -> dict:
    """Documents made when they are sent, by name (the outbox stores the name and the parameters)."""
    return {"meeting_ics": lambda params, now: booking.meeting_ics(renderer, params, now)}


def _build_sender(application: Application, services: Services, renderer: Renderer) -> OutboxSender:
    settings = services.settings
    sender = OutboxSender(
        application.bot,
        services.outbox,
        renderer,
        services.directory,
        preparers=_outbox_preparers(services),
        builders=_outbox_builders(renderer),
        clock=lambda: services.clock(),
        poll_interval=settings.delivery.poll_interval.total_seconds(),
        reply_counter=application.bot.rate_limiter.take_sent_count,
        defaults={"cnam_contact": settings.cnam_contact, "accessibility_contact": settings.accessibility_contact},
    )
    services.db.after_outbox_commit.append(sender.wake)
    return sender


def _configure_pdf_sandbox() -> None:
    """Preload the CLI in the forkserver that runs PDF reviews (see ``pdf_sandbox``).

    Started as the ``coachbot`` console script, ``__main__`` is a path that every sandboxed child
    re-runs before its target; it imports ``bot.cli``: preloaded once in the server, that re-run
    costs nothing. Under ``python -m`` (bot, pytest) nothing is re-run. Only the first call counts.
    """
    try:
        pdf_sandbox.configure_forkserver_preload(("bot.cli",))
    except RuntimeError:
        pass  # the forkserver already runs (a second application in the same process: tests)


def _register_handlers(application: Application) -> None:
    commands = _command_callbacks()
    unknown = set(commands) - set(capabilities.COMMANDS)
    if unknown:
        raise RuntimeError(f"commands without roles in capabilities.COMMANDS: {sorted(unknown)}")
    common.COMMAND_CALLBACKS.clear()
    common.COMMAND_CALLBACKS.update(commands)

    handlers = [CommandHandler("start", onboarding.start)]
    handlers += [CommandHandler(name, callback) for name, callback in commands.items()]
    handlers += [CallbackQueryHandler(callback, pattern=rf"^{namespace}:") for namespace, callback in _callback_handlers()]
    handlers += [
        ChatMemberHandler(membership.chat_member_changed, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.ChatType.PRIVATE & filters.Document.ALL, common.document_message),
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, common.text_message),
        MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, common.unknown_command),
        MessageHandler(filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, common.unsupported_message),
        CallbackQueryHandler(common.stale_button),
    ]
    application.add_handlers(handlers)
    application.add_error_handler(errors.on_error)


async def _post_init(application: Application) -> None:
    services: Services = application.bot_data["services"]
    renderer: Renderer = application.bot_data["renderer"]
    await publish_default_commands(application.bot, renderer)
    application.bot_data["sender"].start()  # delivers the outbox: notifications, reminders, broadcasts
    application.bot_data["startup_task"] = asyncio.create_task(_publish_all_commands(application, services, renderer))


async def _publish_all_commands(application: Application, services: Services, renderer: Renderer) -> None:
    """Each bound person gets their role's command list (and configured staff theirs)."""
    for staff_id in services.settings.staff_telegram_ids:
        await publish_commands_for(application.bot, renderer, staff_id, capabilities.Role.STAFF)
    for person in await asyncio.to_thread(services.directory.bound_people):
        if person.role is not capabilities.Role.STAFF and not person.blocked:
            await publish_commands_for(application.bot, renderer, person.telegram_user_id, person.role)


async def _post_stop(application: Application) -> None:
    """Before the HTTP client closes: sends in flight finish and are recorded."""
    await application.bot_data["sender"].stop()


async def _post_shutdown(application: Application) -> None:
    task = application.bot_data.get("startup_task")
    if task is not None and not task.done():
        task.cancel()
    await application.bot_data["sender"].stop()  # idempotent (already stopped by post_stop)
    application.bot_data["services"].db.dispose()


ALL_UPDATES = Update.ALL_TYPES
