"""A loopback Telegram Bot API server, with simulated users.

The real python-telegram-bot application talks to it over HTTP through its configurable base URL
(`http://127.0.0.1:<port>/bot`). It implements the methods coachbot uses with Telegram's shapes and
limits (4,096-character text, 64-byte callback data, 20 MB getFile, flood limits answered with 429
and `retry_after`), fault injection, and a Python API to act as users: send a text, a command or a
document, press a button, block the bot, read what the bot sent.

The server runs on its own thread and event loop (tornado); the user API is thread-safe.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import httpx
from tornado.httputil import HTTPServerRequest, parse_body_arguments
from tornado.web import Application, RequestHandler

from bot.emulator.html_check import EntityParseError, parse_html, utf16_length

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
GET_FILE_LIMIT = 20 * 1024 * 1024
UPLOAD_LIMIT = 50 * 1024 * 1024
_JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "scope", "entities", "caption_entities", "link_preview_options", "reply_parameters"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class SimUser:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str = "fr"
    blocked_bot: bool = False

    def as_json(self) -> dict:
        data = {"id": self.id, "is_bot": False, "first_name": self.first_name, "language_code": self.language_code}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    def chat_json(self) -> dict:
        data = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes
    file_name: str | None
    mime_type: str | None

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class BotMessage:
    """A message the bot sent (or a user message, `from_bot=False`), as the chat shows it now."""

    message_id: int
    chat_id: int
    date: int
    from_bot: bool
    text: str | None = None  # as sent (HTML source for the bot's messages)
    plain_text: str | None = None  # what the user sees
    parse_mode: str | None = None
    reply_markup: dict | None = None
    document: StoredFile | None = None
    caption: str | None = None
    deleted: bool = False
    edits: int = 0
    sequence: int = 0
    sent_at: float = field(default_factory=time.monotonic)  # when the emulator recorded it (benchmarks)

    @property
    def buttons(self) -> list[dict]:
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]

    @property
    def button_labels(self) -> list[str]:
        return [b["text"] for b in self.buttons]


@dataclass
class Fault:
    method: str | None  # None: any method
    kind: str  # "429" | "403" | "500" | "502" | "delay" (then processed) | "delay_after" (processed, then the
    #            answer delayed) | "drop" (before) | "drop_after" (processed, no answer)
    remaining: int = 1
    retry_after: int = 1
    delay: float = 0.0


@dataclass
class _Bucket:
    rate: float
    burst: float
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """0 if a token was taken, else the seconds to wait for one."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class FloodLimits:
    """Telegram's documented limits: about 30 messages/s overall, about 1/s per chat (short bursts)."""

    overall_per_second: float = 30.0
    overall_burst: float = 30.0
    per_chat_per_second: float = 1.0
    per_chat_burst: float = 10.0
    enabled: bool = True


@dataclass
class _BotState:
    token: str
    id: int
    username: str
    first_name: str
    updates: deque = field(default_factory=deque)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    commands: dict[str, list[dict]] = field(default_factory=dict)
    callback_answers: dict[str, dict] = field(default_factory=dict)
    wakeup: asyncio.Event | None = None


class BotApiEmulator:
    def __init__(
        self,
        *,
        token: str = "123456789:EMULATOR-token-for-loopback-tests-only",
        bot_username: str = "coachbot_demo_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        flood_limits: FloodLimits | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.flood = flood_limits or FloodLimits()
        self._lock = threading.RLock()
        self._bots: dict[str, _BotState] = {}
        self.bot = self.add_bot(token, bot_username)
        self.users: dict[int, SimUser] = {}
        self.messages: dict[int, list[BotMessage]] = defaultdict(list)
        self.files: dict[str, StoredFile] = {}
        self.pressed_at: dict[str, float] = {}  # callback query id -> when the button was pressed
        self.requests: list[tuple[float, str]] = []  # (time, method): for assertions and benchmarks
        self.chat_requests: list[tuple[str, object]] = []  # (method, chat_id as sent): who each call was for
        # called (on the emulator's thread) with each message a bot sends: benchmarks time replies
        self.message_listeners: list = []
        self.faults: list[Fault] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = defaultdict(lambda: itertools.count(1))
        self._sequence = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._global_bucket: _Bucket | None = None
        self._chat_buckets: dict[int, _Bucket] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server = None
        self._started = threading.Event()
        self._webhook_client: httpx.AsyncClient | None = None
        self._webhook_locks: dict[tuple[str, int | None], asyncio.Lock] = {}

    # ------------------------------------------------------------------ lifecycle

    def add_bot(self, token: str, username: str) -> _BotState:
        bot_id = int(token.split(":", 1)[0])
        state = _BotState(token=token, id=bot_id, username=username, first_name="Coachbot")
        with self._lock:
            self._bots[token] = state
        return state

    @property
    def token(self) -> str:
        return self.bot.token

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    def start(self) -> BotApiEmulator:
        self._thread = threading.Thread(target=self._run, name="bot-api-emulator", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the Bot API emulator did not start")
        return self

    def _run(self) -> None:
        logging.getLogger("tornado.access").setLevel(logging.ERROR)
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = Application(
            [
                (r"/bot([^/]+)/([A-Za-z]+)", _MethodHandler, {"emulator": self}),
                (r"/file/bot([^/]+)/(.+)", _FileHandler, {"emulator": self}),
            ]
        )
        self._server = app.listen(self.port, address=self.host, max_body_size=UPLOAD_LIMIT + 1024 * 1024)
        if self.port == 0:
            self.port = next(iter(self._server._sockets.values())).getsockname()[1]
        with self._lock:
            for state in self._bots.values():
                state.wakeup = asyncio.Event()
        self._webhook_client = httpx.AsyncClient(timeout=10)
        self._started.set()
        loop.run_forever()
        loop.run_until_complete(self._webhook_client.aclose())
        loop.close()

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        def _shutdown() -> None:
            self._server.stop()
            loop.stop()

        loop.call_soon_threadsafe(_shutdown)
        if self._thread:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> BotApiEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ simulated users

    def add_user(self, user_id: int, first_name: str, last_name: str | None = None, username: str | None = None) -> SimUser:
        with self._lock:
            user = SimUser(user_id, first_name, last_name, username)
            self.users[user_id] = user
            return user

    def send_text(self, user_id: int, text: str, *, bot_token: str | None = None, entities: list[dict] | None = None) -> int:
        """The user types `text` in their private chat with the bot (another bot of this emulator
        with `bot_token`); returns the update id. ``entities``: the formatting they applied
        (``{"type": "bold", "offset": 0, "length": 5}``)."""
        user = self.users[user_id]
        message = self._user_message(user, text=text)
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_length(command)}]
        elif entities:
            message["entities"] = list(entities)
        return self._enqueue({"message": message}, self._bot_for(bot_token) if bot_token else None)

    def send_document(
        self, user_id: int, content: bytes, file_name: str, mime_type: str | None = "application/pdf", caption: str | None = None
    ) -> int:
        user = self.users[user_id]
        stored = self._store_file(content, file_name, mime_type)
        document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": stored.size}
        if file_name:
            document["file_name"] = file_name
        if mime_type:
            document["mime_type"] = mime_type
        message = self._user_message(user, document=document, caption=caption)
        return self._enqueue({"message": message})

    def press(self, user_id: int, message: BotMessage, label: str | None = None, *, index: int | None = None) -> int:
        """Press an inline button of a message the bot sent, by label (exact or unique substring) or index."""
        buttons = message.buttons
        if index is not None:
            button = buttons[index]
        else:
            exact = [b for b in buttons if b["text"] == label]
            partial = [b for b in buttons if label and label.lower() in b["text"].lower()]
            matches = exact or partial
            if len(matches) != 1:
                raise LookupError(f"no single button {label!r} among {[b['text'] for b in buttons]}")
            button = matches[0]
        if "callback_data" not in button:
            raise LookupError(f"button {button['text']!r} is a link, not a callback button")
        return self.press_data(user_id, button["callback_data"], message)

    def press_data(self, user_id: int, data: str, message: BotMessage | None = None) -> int:
        """Send a callback query with arbitrary data (forged buttons in tests)."""
        user = self.users[user_id]
        with self._lock:
            query_id = str(next(self._callback_ids))
        query = {"id": query_id, "from": user.as_json(), "chat_instance": str(user.id), "data": data}
        with self._lock:
            self.pressed_at[query_id] = time.monotonic()
        if message is not None:
            query["message"] = self._message_json(message)
        return self._enqueue({"callback_query": query})

    def set_blocked(self, user_id: int, blocked: bool) -> int:
        """The user blocks (or unblocks) the bot: Telegram sends a my_chat_member update."""
        user = self.users[user_id]
        with self._lock:
            user.blocked_bot = blocked
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        bot_user = {"id": self.bot.id, "is_bot": True, "first_name": self.bot.first_name, "username": self.bot.username}
        update = {
            "my_chat_member": {
                "chat": user.chat_json(),
                "from": user.as_json(),
                "date": int(time.time()),
                "old_chat_member": {"status": old, "user": bot_user, **({"until_date": 0} if old == "kicked" else {})},
                "new_chat_member": {"status": new, "user": bot_user, **({"until_date": 0} if new == "kicked" else {})},
            }
        }
        return self._enqueue(update)

    def chat(self, chat_id: int, *, include_user: bool = False) -> list[BotMessage]:
        with self._lock:
            return [m for m in self.messages.get(chat_id, []) if (include_user or m.from_bot) and not m.deleted]

    def sent_since(self, sequence: int, chat_id: int | None = None) -> list[BotMessage]:
        with self._lock:
            found = [
                m
                for chat, items in self.messages.items()
                if chat_id is None or chat == chat_id
                for m in items
                if m.from_bot and m.sequence > sequence and not m.deleted
            ]
        return sorted(found, key=lambda m: m.sequence)

    def last_sequence(self) -> int:
        with self._lock:
            return max((m.sequence for items in self.messages.values() for m in items), default=0)

    def commands_for(self, scope: dict | None = None) -> list[dict]:
        key = json.dumps(scope or {"type": "default"}, sort_keys=True)
        with self._lock:
            return list(self.bot.commands.get(key, []))

    def callback_answer(self, query_id: str) -> dict | None:
        """What the bot answered to a button press (text, show_alert), or None."""
        with self._lock:
            answer = self.bot.callback_answers.get(query_id)
            return None if answer is None else {k: v for k, v in answer.items() if k != "at"}

    def inject_fault(self, method: str | None, kind: str, *, count: int = 1, retry_after: int = 1, delay: float = 0.0) -> None:
        with self._lock:
            self.faults.append(Fault(method, kind, count, retry_after, delay))

    def callback_latencies(self) -> dict[str, float | None]:
        """Seconds from each button press to its answer (None: never answered)."""
        with self._lock:
            answers = self.bot.callback_answers
            return {
                query_id: (answers[query_id]["at"] - pressed) if query_id in answers else None
                for query_id, pressed in self.pressed_at.items()
            }

    def faults_left(self) -> int:
        """Injected faults not met yet."""
        with self._lock:
            return sum(fault.remaining for fault in self.faults)

    def pending_updates(self) -> int:
        with self._lock:
            return len(self.bot.updates)

    # ------------------------------------------------------------------ internals: updates

    def _user_message(self, user: SimUser, **content) -> dict:
        with self._lock:
            message_id = next(self._message_ids[user.id])
            stored = BotMessage(
                message_id=message_id,
                chat_id=user.id,
                date=int(time.time()),
                from_bot=False,
                text=content.get("text"),
                plain_text=content.get("text"),
                sequence=next(self._sequence),
            )
            self.messages[user.id].append(stored)
        message = {"message_id": message_id, "from": user.as_json(), "chat": user.chat_json(), "date": stored.date}
        message.update({k: v for k, v in content.items() if v is not None})
        return message

    def _enqueue(self, payload: dict, bot: _BotState | None = None) -> int:
        bot = bot or self.bot
        with self._lock:
            update_id = next(self._update_ids)
            update = {"update_id": update_id, **payload}
            webhook = bot.webhook_url
            if webhook is None:
                bot.updates.append(update)
        if self._loop is None:
            raise RuntimeError("the emulator is not running")
        if webhook is not None:
            asyncio.run_coroutine_threadsafe(self._deliver_webhook(bot, update), self._loop)
        else:
            self._loop.call_soon_threadsafe(bot.wakeup.set)
        return update_id

    async def _deliver_webhook(self, bot: _BotState, update: dict) -> None:
        """POST one update; like Telegram, a person's next update waits until this one was
        acknowledged (different people's updates go out concurrently)."""
        sender = next((v["from"]["id"] for v in update.values() if isinstance(v, dict) and "from" in v), None)
        lock = self._webhook_locks.setdefault((bot.token, sender), asyncio.Lock())
        async with lock:
            await self._post_webhook(bot, update)

    async def _post_webhook(self, bot: _BotState, update: dict) -> None:
        headers = {"Content-Type": "application/json"}
        if bot.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = bot.webhook_secret
        for attempt in range(5):
            try:
                response = await self._webhook_client.post(bot.webhook_url, content=json.dumps(update), headers=headers)
                if response.status_code < 300:
                    return
                log.warning("webhook answered %s for update %s", response.status_code, update["update_id"])
            except httpx.HTTPError as exc:
                log.warning("webhook delivery failed: %s", exc)
            await asyncio.sleep(0.2 * (attempt + 1))

    def _store_file(self, content: bytes, file_name: str | None, mime_type: str | None) -> StoredFile:
        with self._lock:
            number = next(self._file_ids)
        unique = hashlib.sha1(content).hexdigest()[:16]
        stored = StoredFile(f"F{number:06d}{unique}", f"U{unique}", content, file_name, mime_type)
        with self._lock:
            self.files[stored.file_id] = stored
        return stored

    def _message_json(self, message: BotMessage) -> dict:
        bot = self.bot
        user = self.users.get(message.chat_id)
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": user.chat_json() if user else {"id": message.chat_id, "type": "private"},
        }
        if message.from_bot:
            data["from"] = {"id": bot.id, "is_bot": True, "first_name": bot.first_name, "username": bot.username}
        elif user:
            data["from"] = user.as_json()
        if message.plain_text is not None and message.document is None:
            data["text"] = message.plain_text
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.document is not None:
            doc = message.document
            data["document"] = {
                "file_id": doc.file_id,
                "file_unique_id": doc.file_unique_id,
                "file_size": doc.size,
                **({"file_name": doc.file_name} if doc.file_name else {}),
                **({"mime_type": doc.mime_type} if doc.mime_type else {}),
            }
            if message.caption:
                data["caption"] = message.caption
        return data

    # ------------------------------------------------------------------ internals: Bot API methods

    def _bot_for(self, token: str) -> _BotState:
        with self._lock:
            bot = self._bots.get(token)
        if bot is None:
            raise ApiError(401, "Unauthorized")
        return bot

    def _check_flood(self, chat_id: int | None) -> None:
        if not self.flood.enabled:
            return
        now = time.monotonic()
        with self._lock:
            if self._global_bucket is None:
                self._global_bucket = _Bucket(self.flood.overall_per_second, self.flood.overall_burst, self.flood.overall_burst, now)
            wait = 0.0
            if chat_id is not None:
                bucket = self._chat_buckets.get(chat_id)
                if bucket is None:
                    bucket = self._chat_buckets[chat_id] = _Bucket(
                        self.flood.per_chat_per_second, self.flood.per_chat_burst, self.flood.per_chat_burst, now
                    )
                wait = bucket.take(now)
            if wait == 0.0:
                wait = self._global_bucket.take(now)
        if wait > 0:
            retry_after = max(1, int(wait + 0.999))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    def _chat_of(self, params: dict) -> int:
        try:
            chat_id = int(params["chat_id"])
        except (KeyError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        user = self.users.get(chat_id)
        if user is None:
            raise ApiError(400, "Bad Request: chat not found")
        if user.blocked_bot:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _validate_markup(self, markup: Any, *, allow_empty: bool = False) -> dict | None:
        """Telegram's checks: an object with a keyboard; an inline keyboard with rows of buttons.

        `{}` and an empty `inline_keyboard` are refused, except by editMessageReplyMarkup
        (`allow_empty`), where an empty inline keyboard removes the buttons.
        """
        if markup in (None, ""):
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        keyboards = [key for key in ("inline_keyboard", "keyboard", "remove_keyboard", "force_reply") if key in markup]
        if not keyboards:
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is not None:
            if not isinstance(rows, list) or any(not isinstance(row, list) or not row for row in rows):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: a row is empty")
            if not rows and not allow_empty:
                raise ApiError(400, "Bad Request: inline keyboard is empty")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _render_text(self, text: str | None, parse_mode: str | None, limit: int, empty_error: str) -> str:
        if text is None or text == "":
            raise ApiError(400, empty_error)
        plain = text
        if parse_mode and parse_mode.upper() == "HTML":
            try:
                plain = parse_html(text)
            except EntityParseError as exc:
                raise ApiError(400, f"Bad Request: {exc}") from None
        if not plain.strip():
            raise ApiError(400, empty_error)
        if utf16_length(plain) > limit:
            raise ApiError(400, "Bad Request: message is too long")
        return plain

    def _record_bot_message(self, chat_id: int, **fields) -> BotMessage:
        with self._lock:
            message = BotMessage(
                message_id=next(self._message_ids[chat_id]),
                chat_id=chat_id,
                date=int(time.time()),
                from_bot=True,
                sequence=next(self._sequence),
                **fields,
            )
            self.messages[chat_id].append(message)
        for listener in self.message_listeners:
            listener(message)
        return message

    def _find_message(self, chat_id: int, message_id: Any) -> BotMessage:
        try:
            message_id = int(message_id)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: message to edit not found") from None
        with self._lock:
            for message in self.messages.get(chat_id, []):
                if message.message_id == message_id and not message.deleted:
                    return message
        raise ApiError(400, "Bad Request: message to edit not found")

    async def call(self, token: str, method: str, params: dict, files: dict[str, tuple[str, bytes, str]]) -> Any:
        bot = self._bot_for(token)
        with self._lock:
            self.requests.append((time.monotonic(), method))
            self.chat_requests.append((method, params.get("chat_id")))
        fault = self._take_fault(method)
        if fault is not None:
            if fault.kind == "delay":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "429":
                raise ApiError(429, f"Too Many Requests: retry after {fault.retry_after}", {"retry_after": fault.retry_after})
            elif fault.kind == "403":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            elif fault.kind in {"500", "502"}:
                raise ApiError(int(fault.kind), "Internal Server Error" if fault.kind == "500" else "Bad Gateway")
            elif fault.kind == "drop":
                raise _DropConnection()
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            raise ApiError(404, "Not Found")
        result = await handler(bot, params, files)
        if fault is not None and fault.kind == "drop_after":  # done, but the client never hears of it
            raise _DropConnection()
        if fault is not None and fault.kind == "delay_after":  # done, the client hears of it late (or never)
            await asyncio.sleep(fault.delay)
        return result

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.remaining > 0 and (fault.method is None or fault.method.lower() == method.lower()):
                    fault.remaining -= 1
                    return fault
        return None

    async def _m_getme(self, bot, params, files):
        return {
            "id": bot.id, "is_bot": True, "first_name": bot.first_name, "username": bot.username,
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False,
        }

    async def _m_getupdates(self, bot, params, files):
        if bot.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, min(50.0, float(params.get("timeout") or 0)))
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                while bot.updates and offset and bot.updates[0]["update_id"] < offset:
                    bot.updates.popleft()
                ready = list(itertools.islice(bot.updates, 0, limit))
                if not ready:
                    bot.wakeup.clear()
            if ready or time.monotonic() >= deadline:
                return ready
            try:
                await asyncio.wait_for(bot.wakeup.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                pass

    async def _m_setwebhook(self, bot, params, files):
        url = params.get("url") or None
        with self._lock:
            bot.webhook_url = url
            bot.webhook_secret = params.get("secret_token") or None
            if url and str(params.get("drop_pending_updates")).lower() == "true":
                bot.updates.clear()
        return True

    async def _m_deletewebhook(self, bot, params, files):
        with self._lock:
            bot.webhook_url = None
            bot.webhook_secret = None
            if str(params.get("drop_pending_updates")).lower() == "true":
                bot.updates.clear()
        return True

    async def _m_getwebhookinfo(self, bot, params, files):
        return {"url": bot.webhook_url or "", "has_custom_certificate": False, "pending_update_count": len(bot.updates)}

    async def _m_sendmessage(self, bot, params, files):
        chat_id = self._chat_of(params)
        plain = self._render_text(params.get("text"), params.get("parse_mode"), TEXT_LIMIT, "Bad Request: message text is empty")
        markup = self._validate_markup(params.get("reply_markup"))
        self._check_flood(chat_id)
        message = self._record_bot_message(
            chat_id, text=params.get("text"), plain_text=plain, parse_mode=params.get("parse_mode"), reply_markup=markup
        )
        return self._message_json(message)

    async def _m_editmessagetext(self, bot, params, files):
        chat_id = self._chat_of(params)
        message = self._find_message(chat_id, params.get("message_id"))
        plain = self._render_text(params.get("text"), params.get("parse_mode"), TEXT_LIMIT, "Bad Request: message text is empty")
        markup = self._validate_markup(params.get("reply_markup"))
        if plain == message.plain_text and markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
        with self._lock:
            message.text, message.plain_text, message.parse_mode = params.get("text"), plain, params.get("parse_mode")
            message.reply_markup = markup
            message.edits += 1
            message.sequence = next(self._sequence)
        return self._message_json(message)

    async def _m_editmessagereplymarkup(self, bot, params, files):
        chat_id = self._chat_of(params)
        message = self._find_message(chat_id, params.get("message_id"))
        markup = self._validate_markup(params.get("reply_markup"), allow_empty=True) or None
        if markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        with self._lock:
            message.reply_markup = markup
            message.edits += 1
        return self._message_json(message)

    async def _m_deletemessage(self, bot, params, files):
        chat_id = self._chat_of(params)
        try:
            message = self._find_message(chat_id, params.get("message_id"))
        except ApiError:
            raise ApiError(400, "Bad Request: message to delete not found") from None
        with self._lock:
            message.deleted = True
        return True

    async def _m_answercallbackquery(self, bot, params, files):
        query_id = params.get("callback_query_id")
        if not query_id:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text and len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        with self._lock:
            if str(query_id) in bot.callback_answers:  # Telegram accepts one answer per query
                raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
            bot.callback_answers[str(query_id)] = {
                "text": text, "show_alert": str(params.get("show_alert")).lower() == "true", "at": time.monotonic(),
            }
        return True

    async def _m_senddocument(self, bot, params, files):
        chat_id = self._chat_of(params)
        caption = params.get("caption")
        plain_caption = None
        if caption:
            plain_caption = self._render_text(caption, params.get("parse_mode"), CAPTION_LIMIT, "Bad Request: caption is empty")
        markup = self._validate_markup(params.get("reply_markup"))
        document = params.get("document")
        if "document" in files:
            file_name, content, mime = files["document"]
            if len(content) > UPLOAD_LIMIT:
                raise ApiError(413, "Request Entity Too Large")
            stored = self._store_file(content, file_name, mime)
        elif isinstance(document, str) and document in self.files:
            stored = self.files[document]
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        self._check_flood(chat_id)
        message = self._record_bot_message(chat_id, document=stored, caption=plain_caption, reply_markup=markup)
        return self._message_json(message)

    async def _m_getfile(self, bot, params, files):
        stored = self.files.get(params.get("file_id", ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.size > GET_FILE_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": stored.size, "file_path": f"documents/{stored.file_id}"}

    async def _m_setmycommands(self, bot, params, files):
        commands = params.get("commands") or []
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        for command in commands:
            name, description = command.get("command", ""), command.get("description", "")
            if not (1 <= len(name) <= 32 and name.islower() or name.isdigit()) or not name.replace("_", "").isalnum():
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
        with self._lock:
            bot.commands[key] = commands
        return True

    async def _m_deletemycommands(self, bot, params, files):
        key = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
        with self._lock:
            bot.commands.pop(key, None)
        return True

    async def _m_getmycommands(self, bot, params, files):
        key = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
        with self._lock:
            return bot.commands.get(key, [])

    async def _m_sendchataction(self, bot, params, files):
        self._chat_of(params)
        return True

    async def _m_close(self, bot, params, files):
        return True

    async def _m_logout(self, bot, params, files):
        return True


class _DropConnection(Exception):
    """Fault injection: close the connection without an answer."""


class _MethodHandler(RequestHandler):
    def initialize(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator

    def check_xsrf_cookie(self) -> None:  # an API, not a web form
        pass

    async def get(self, token: str, method: str) -> None:
        await self.post(token, method)

    async def post(self, token: str, method: str) -> None:
        try:
            params, files = _parse_request(self.request)
            result = await self.emulator.call(token, method, params, files)
            self._answer(200, {"ok": True, "result": result})
        except _DropConnection:
            self.request.connection.stream.close()
        except ApiError as exc:
            body = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
            self._answer(exc.code, body)
        except Exception as exc:  # a bug in the emulator must show up as a 500, not hang the client
            log.exception("emulator failure in %s", method)
            self._answer(500, {"ok": False, "error_code": 500, "description": f"Internal Server Error: {exc}"})

    def _answer(self, status: int, body: dict) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class _FileHandler(RequestHandler):
    def initialize(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator

    def get(self, token: str, file_path: str) -> None:
        try:
            self.emulator._bot_for(token)
        except ApiError:
            self.set_status(401)
            self.finish()
            return
        file_id = file_path.rsplit("/", 1)[-1]
        stored = self.emulator.files.get(file_id)
        if stored is None or stored.size > GET_FILE_LIMIT:
            self.set_status(404)
            self.finish()
            return
        self.set_header("Content-Type", stored.mime_type or "application/octet-stream")
        self.finish(stored.content)


def _coerce(name: str, value: str) -> Any:
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    return value


def _parse_request(request: HTTPServerRequest) -> tuple[dict, dict[str, tuple[str, bytes, str]]]:
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    content_type = request.headers.get("Content-Type", "")
    for name, values in request.query_arguments.items():
        params[name] = _coerce(name, values[-1].decode())
    if content_type.startswith("application/json"):
        body = json.loads(request.body or b"{}")
        params.update(body)
        return params, files
    arguments: dict[str, list[bytes]] = {}
    uploaded: dict[str, list] = {}
    parse_body_arguments(content_type, request.body, arguments, uploaded, request.headers)
    for name, values in arguments.items():
        params[name] = _coerce(name, values[-1].decode())
    for name, values in uploaded.items():
        item = values[-1]
        files[name] = (item["filename"], item["body"], item.get("content_type") or "application/octet-stream")
    # python-telegram-bot sends `document=attach://<name>` with the file under that name.
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
            files[key] = files.pop(value[9:])
    return params, files
