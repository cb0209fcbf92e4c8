"""The composition root: builds the python-telegram-bot Application and wires every route.

The routes (commands, buttons, conversation flows, demo seeders) are declared in one table,
`bot/routes.py`; `bot/telegram/routing.py` turns it into python-telegram-bot handlers, in the order
they must be tried, and runs each route the same way (button answered once, person identified once,
role guard, one apology on failure). Each Application gets its own table in its bot_data. The
outbox's preparers and document builders are declared below.
"""

from __future__ import annotations

import logging

import httpx

from telegram import Update
from telegram.ext import Application, ContextTypes
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.domain import pdf_sandbox
from bot.handlers import errors, personal_data
from bot.routes import build_routes
from bot.services.container import Services
from bot.storage.db import Database
from bot.storage.person_locks import PersonLocks
from bot.telegram.commands import CommandLists, publish_default_commands
from bot.telegram.context import BotContext
from bot.telegram.log_redaction import install_redaction
from bot.telegram.messenger import Messenger
from bot.telegram.rate_limiter import PriorityRateLimiter
from bot.telegram.sender import OutboxSender
from bot.telegram.broadcast_progress import BroadcastProgress
from bot.telegram import routing
from bot.telegram.routing import Routes
from bot.telegram.rendering import Renderer
from bot.telegram.update_processor import OrderedUpdateQueue, PerUserUpdateProcessor
from bot.telegram import webhook

log = logging.getLogger(__name__)


def build_application(settings: Settings, *, db: Database | None = None) -> Application:
    install_redaction([settings.require_token()])
    webhook.install()  # webhook mode answers 400 to a body that is not an update
    _configure_pdf_sandbox()
    db = db or Database(settings.database_url)
    services = Services.build(settings, db)
    renderer = Renderer(timezone=settings.timezone)
    # one person's updates in order, across instances too (a PostgreSQL advisory lock per person)
    processor = PerUserUpdateProcessor(person_locks=PersonLocks.for_url(settings.database_url))
    application = (
        Application.builder()
        .token(settings.require_token())
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_url)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(processor)
        .update_queue(OrderedUpdateQueue(processor, gate=settings.webhook is not None))
        .rate_limiter(PriorityRateLimiter(replies_per_second=settings.delivery.replies_per_second))
        .request(_bot_api_request(settings))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data["services"] = services
    application.bot_data["renderer"] = renderer
    application.bot_data["messenger"] = Messenger(application.bot, renderer, services.directory)
    application.bot_data["processor"] = processor
    routes = build_routes()
    application.bot_data["sender"] = _build_sender(application, services, renderer, routes)
    application.bot_data["command_lists"] = CommandLists(application.bot, renderer)
    progress = BroadcastProgress(application.bot, services, renderer, interval=settings.delivery.poll_interval.total_seconds())
    application.bot_data["broadcast_progress"] = progress
    application.bot_data["due_jobs"] = [progress.tick]  # run by tests' drain() before the outbox is drained
    _register_handlers(application, routes)
    return application


def _build_sender(application: Application, services: Services, renderer: Renderer, routes: Routes) -> OutboxSender:
    """The outbox sender, with the preparers and builders of the route table bound to this bot."""
    settings = services.settings

    def prepare(function):
        async def call(row, now):
            return await function(services, row, now)

        return call

    sender = OutboxSender(
        application.bot,
        services.outbox,
        renderer,
        services.directory,
        preparers={kind: prepare(f) for kind, f in routes.outbox_preparers.items()},
        builders={name: factory(services, renderer) for name, factory in routes.outbox_builders.items()},
        clock=lambda: services.clock(),
        poll_interval=settings.delivery.poll_interval.total_seconds(),
        reply_counter=application.bot.rate_limiter.take_sent_count,
        defaults={"cnam_contact": settings.cnam_contact, "accessibility_contact": settings.accessibility_contact},
        email=_email_transport(settings),
        answered=application.bot_data["processor"].until_answered,
    )
    services.db.after_outbox_commit.append(sender.wake)
    return sender


KEEP_ALIVE_CONNECTIONS = 16


def _bot_api_request(settings: Settings) -> HTTPXRequest:
    """The Bot API client. httpx's pool scans every idle connection (two system calls each) before
    each request, and python-telegram-bot keeps up to 256 of them alive: after one burst, every
    later request paid for all of them. At most 16 stay open between requests; up to 256 at once."""
    return HTTPXRequest(
        connection_pool_size=256,
        connect_timeout=10,
        read_timeout=settings.delivery.read_timeout,
        write_timeout=60,
        httpx_kwargs={"limits": httpx.Limits(max_connections=256, max_keepalive_connections=KEEP_ALIVE_CONNECTIONS)},
    )


def _email_transport(settings: Settings):
    """The SMTP client when SMTP_HOST is configured (invitation e-mails), else None."""
    if settings.smtp is None:
        return None
    from bot.services.email import SmtpTransport

    return SmtpTransport(settings.smtp)


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


def _register_handlers(application: Application, routes: Routes) -> None:
    routing.install(application, routes)
    application.add_error_handler(errors.on_error)  # what fails outside a route (polling, jobs)


async def _post_init(application: Application) -> None:
    renderer: Renderer = application.bot_data["renderer"]
    # only the public list: each person's own list is published when they are bound or first write
    await publish_default_commands(application.bot, renderer)
    services: Services = application.bot_data["services"]
    # other instances' changes to people reach this one's cache (read with the outbox's interval)
    services.directory.follow_changes(services.settings.delivery.poll_interval.total_seconds())
    application.bot_data["sender"].start()  # delivers the outbox: notifications, reminders, broadcasts
    personal_data.start_retention_job(application)  # daily purge of data past RETENTION_MONTHS
    application.bot_data["broadcast_progress"].start()  # scheduled broadcasts coming due, progress messages


async def _post_stop(application: Application) -> None:
    """Before the HTTP client closes: sends in flight finish and are recorded."""
    await application.bot_data["broadcast_progress"].stop()
    await application.bot_data["sender"].stop()
    application.bot_data["services"].directory.stop_following()


async def _post_shutdown(application: Application) -> None:
    await application.bot_data["broadcast_progress"].stop()
    await application.bot_data["sender"].stop()  # idempotent (already stopped by post_stop)
    application.bot_data["services"].directory.stop_following()
    application.bot_data["services"].db.dispose()


ALL_UPDATES = Update.ALL_TYPES
