"""The routing machinery: route records, the role guard, and the one place a failure is caught.

The table itself is declared in `bot/routes.py` and installed by `bot/app.py`; this module only knows
how to run a route. Every route runs the same way:

1. a button press is answered at once (exactly once per update: the flag lives in the context);
2. the person is identified once per update (with their conversation, in one database session);
3. the role guard: a route names the command whose roles may use it (`capabilities.COMMANDS`);
   an unknown person or a role without it gets the matching French message and nothing runs;
4. the handler runs with the person; whatever fails (a service, the database, a Bot API call) is
   logged with ids only and the person gets one apology (`errors.apologise`).

Handler signatures: commands `f(update, context, person)`, buttons `f(update, context, person, data)`,
text and document flows `f(update, context, person, conversation)`. `person` is a `PersonView`
when the route is guarded, `PersonView | None` otherwise.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, ChatMemberHandler, CommandHandler, MessageHandler, filters

from bot.domain import capabilities
from bot.telegram.keyboards import parse_callback

if TYPE_CHECKING:
    from bot.telegram.context import BotContext

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]
ANY_ACTION = "*"


@dataclass(frozen=True)
class Command:
    """A slash command; guarded by its own name in `capabilities.COMMANDS` unless `guarded=False`."""

    name: str
    callback: Handler
    guarded: bool = True

    @property
    def guard(self) -> str | None:
        return self.name if self.guarded else None


@dataclass(frozen=True)
class Action:
    """An inline button `namespace:action[:args]`; `action="*"` catches the namespace's other actions.

    `guard` names the command whose roles may press it (None: anyone, the handler decides).
    """

    namespace: str
    action: str
    callback: Handler
    guard: str | None

    @property
    def pattern(self) -> str:
        if self.action == ANY_ACTION:
            return rf"^{re.escape(self.namespace)}:"
        return rf"^{re.escape(self.namespace)}:{re.escape(self.action)}(?::|$)"


@dataclass(frozen=True)
class Flow:
    """What the next text or document does while a person is in a stored conversation `name`.

    A refused guard also ends the conversation (the person lost the role meanwhile).
    """

    name: str
    guard: str | None
    text: Handler | None = None
    document: Handler | None = None


@dataclass(frozen=True)
class Fallbacks:
    """Updates no command, button or flow claimed; each gets `(update, context, person[, conversation])`."""

    text: Handler  # text outside any flow
    document: Handler  # a document outside any document flow (gets the conversation, maybe None)
    command: Handler  # an unknown /command
    unsupported: Handler  # photos, stickers, voice notes...
    button: Handler  # a button nobody claimed (old keyboards, forged data)
    chat_member: Handler  # my_chat_member: blocked / unblocked


@dataclass(frozen=True)
class Routes:
    commands: tuple[Command, ...]
    actions: tuple[Action, ...]
    flows: tuple[Flow, ...]
    fallbacks: Fallbacks
    demo_seeders: tuple[Callable[..., None], ...] = ()
    # the outbox: kinds whose content is read when sent, f(services, row, now) -> params | None,
    # and documents made when sent: a factory f(services, renderer) -> builder(params, now) -> bytes
    outbox_preparers: dict[str, Callable[..., Any]] = field(default_factory=dict)
    outbox_builders: dict[str, Callable[..., Callable[..., bytes]]] = field(default_factory=dict)
    _commands: dict[str, Command] = field(init=False, repr=False, compare=False)
    _flows: dict[str, Flow] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_commands", {c.name: c for c in self.commands})
        object.__setattr__(self, "_flows", {f.name: f for f in self.flows})
        self.check()

    def check(self) -> None:
        """A route table that contradicts itself fails at start-up, not when someone presses a button."""
        names = [c.name for c in self.commands]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise RuntimeError(f"commands declared twice: {sorted(duplicates)}")
        guards = {c.guard for c in self.commands} | {a.guard for a in self.actions} | {f.guard for f in self.flows}
        unknown = {g for g in guards if g is not None} - set(capabilities.COMMANDS)
        unknown |= {c.name for c in self.commands if c.guarded} - set(capabilities.COMMANDS)
        if unknown:
            raise RuntimeError(f"guards without roles in capabilities.COMMANDS: {sorted(unknown)}")
        keys = [(a.namespace, a.action) for a in self.actions]
        if len(keys) != len(set(keys)):
            raise RuntimeError("a button action is declared twice")

    def command(self, name: str) -> Command | None:
        return self._commands.get(name)

    def flow(self, name: str) -> Flow | None:
        return self._flows.get(name)


# -- running a route ---------------------------------------------------------------------------------


async def run(
    callback: Handler, guard: str | None, update: Update, context: BotContext, *args: Any, flow: str | None = None
) -> None:
    """Answer the button, identify, check the guard, run `callback`; one apology if anything fails."""
    from bot.handlers import errors
    from bot.handlers.common import refuse

    context.handler_name = getattr(callback, "__qualname__", repr(callback))
    try:
        if update.callback_query is not None:
            await context.answer_query(update)
        person = await context.identify(update)
        _refresh_command_list(update, context, person)
        if guard is not None and (person is None or not capabilities.allowed(person.role, guard)):
            if flow is not None and update.effective_user is not None:
                await context.call(context.services.conversations.clear, update.effective_user.id, flow=flow)
            await refuse(update, context, person, guard)
            return
        await callback(update, context, person, *args)
    except Exception as error:  # noqa: BLE001 - the one place failures are caught (see errors.py)
        await errors.apologise(update, context, error)


def _refresh_command_list(update: Update, context: BotContext, person) -> None:
    """A person writing for the first time (to this instance, or with a new role) gets their
    role's command list, in the background: never to ids that have not opened a chat."""
    lists = context.application.bot_data.get("command_lists")
    user = update.effective_user
    if lists is None or user is None or update.my_chat_member is not None:
        return
    if lists.needs_update(user.id, person):
        context.application.create_task(lists.publish(user.id, person), update=update)


async def run_command(command: Command, update: Update, context: BotContext) -> None:
    await run(command.callback, command.guard, update, context)


def _on_command(command: Command):
    async def handle(update: Update, context: BotContext) -> None:
        await run_command(command, update, context)

    handle.__qualname__ = f"command:{command.name}"
    return handle


def _on_action(action: Action):
    async def handle(update: Update, context: BotContext) -> None:
        await run(action.callback, action.guard, update, context, parse_callback(update.callback_query.data))

    handle.__qualname__ = f"button:{action.namespace}:{action.action}"
    return handle


async def _on_text(update: Update, context: BotContext) -> None:
    routes = context.routes
    conversation = await _conversation(update, context)
    flow = routes.flow(conversation.flow) if conversation is not None else None
    if flow is not None and flow.text is not None:
        await run(flow.text, flow.guard, update, context, conversation, flow=flow.name)
    else:
        await run(routes.fallbacks.text, None, update, context)


async def _on_document(update: Update, context: BotContext) -> None:
    routes = context.routes
    conversation = await _conversation(update, context)
    flow = routes.flow(conversation.flow) if conversation is not None else None
    if flow is not None and flow.document is not None:
        await run(flow.document, flow.guard, update, context, conversation, flow=flow.name)
    else:
        await run(routes.fallbacks.document, None, update, context, conversation)


async def _conversation(update: Update, context: BotContext):
    try:
        return await context.conversation(update)
    except Exception as error:  # noqa: BLE001 - the database may be down: apologise like a route
        from bot.handlers import errors

        context.handler_name = "conversation"
        await errors.apologise(update, context, error)
        raise _Handled() from error


class _Handled(Exception):
    """Raised after an apology so the PTB wrapper stops quietly."""


def _quiet(handler: Handler, name: str):
    async def handle(update: Update, context: BotContext) -> None:
        try:
            await handler(update, context)
        except _Handled:
            return

    handle.__qualname__ = name
    return handle


def _fallback(name: str):
    async def handle(update: Update, context: BotContext) -> None:
        await run(getattr(context.routes.fallbacks, name), None, update, context)

    handle.__qualname__ = f"fallback:{name}"
    return handle


def telegram_handlers(routes: Routes) -> list[BaseHandler]:
    """python-telegram-bot handlers for the table, in the order they must be tried (group 0).

    Commands first, then each button action (its own pattern), then the namespace catch-alls ("*"),
    then documents and free text (routed to the person's stored conversation), then what is left:
    unknown commands, unsupported messages, buttons nobody claimed.
    """
    private = filters.ChatType.PRIVATE
    handlers: list[BaseHandler] = [CommandHandler(c.name, _on_command(c)) for c in routes.commands]
    specific = [a for a in routes.actions if a.action != ANY_ACTION]
    catch_alls = [a for a in routes.actions if a.action == ANY_ACTION]
    handlers += [CallbackQueryHandler(_on_action(a), pattern=a.pattern) for a in specific + catch_alls]
    handlers += [
        ChatMemberHandler(_fallback("chat_member"), ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(private & filters.Document.ALL, _quiet(_on_document, "document")),
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, _quiet(_on_text, "text")),
        MessageHandler(private & filters.COMMAND, _fallback("command")),
        MessageHandler(private & ~filters.StatusUpdate.ALL, _fallback("unsupported")),
        CallbackQueryHandler(_fallback("button")),
    ]
    return handlers


def install(application: Application, routes: Routes) -> None:
    """Register the table on this Application; its routes live in its own bot_data (nothing global)."""
    application.bot_data["routes"] = routes
    application.add_handlers(telegram_handlers(routes))
