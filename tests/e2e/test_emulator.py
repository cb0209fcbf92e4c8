"""The Bot API emulator keeps Telegram's documented shapes and limits (raw HTTP, no bot library)."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.emulator.server import BotApiEmulator, FloodLimits


@pytest.fixture
def api(emulator):
    emulator.add_user(42, "Ana")
    with httpx.Client(base_url=f"{emulator.base_url}{emulator.token}/", timeout=10) as client:
        yield client


def _call(api, method, **params):
    return api.post(method, data={k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in params.items()}).json()


def test_get_me_and_wrong_token(api, emulator):
    me = _call(api, "getMe")
    assert me["ok"] and me["result"]["username"] == emulator.bot.username
    wrong = httpx.post(f"{emulator.base_url}1:wrong/getMe").json()
    assert wrong == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_message_limits(api):
    assert _call(api, "sendMessage", chat_id=42, text="x" * 4096)["ok"]
    too_long = _call(api, "sendMessage", chat_id=42, text="x" * 4097)
    assert too_long["error_code"] == 400 and "too long" in too_long["description"]
    assert _call(api, "sendMessage", chat_id=42, text="")["description"] == "Bad Request: message text is empty"
    bad_html = _call(api, "sendMessage", chat_id=42, text="a <b", parse_mode="HTML")
    assert "can't parse entities" in bad_html["description"].lower()
    unknown_chat = _call(api, "sendMessage", chat_id=7, text="x")
    assert unknown_chat["description"] == "Bad Request: chat not found"


def test_callback_data_limit(api):
    ok = {"inline_keyboard": [[{"text": "A", "callback_data": "x" * 64}]]}
    assert _call(api, "sendMessage", chat_id=42, text="t", reply_markup=ok)["ok"]
    too_big = {"inline_keyboard": [[{"text": "A", "callback_data": "x" * 65}]]}
    assert _call(api, "sendMessage", chat_id=42, text="t", reply_markup=too_big)["description"] == "Bad Request: BUTTON_DATA_INVALID"


def test_empty_reply_markup_is_refused_like_telegram(api):
    for empty in ({}, {"inline_keyboard": []}, {"inline_keyboard": [[]]}):
        refused = _call(api, "sendMessage", chat_id=42, text="t", reply_markup=empty)
        assert refused["error_code"] == 400, empty
    message = _call(api, "sendMessage", chat_id=42, text="t", reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})
    removed = _call(api, "editMessageReplyMarkup", chat_id=42, message_id=message["result"]["message_id"],
                    reply_markup={"inline_keyboard": []})
    assert removed["ok"]  # an empty inline keyboard removes the buttons of a sent message


def test_documents_upload_get_file_and_the_20_mb_limit(api, emulator):
    sent = api.post("sendDocument", data={"chat_id": "42"}, files={"document": ("r.pdf", b"%PDF-1.7 data", "application/pdf")}).json()
    file_id = sent["result"]["document"]["file_id"]
    info = _call(api, "getFile", file_id=file_id)["result"]
    download = httpx.get(f"{emulator.base_file_url}{emulator.token}/{info['file_path']}")
    assert download.content == b"%PDF-1.7 data"
    emulator.send_document(42, b"0" * (20 * 1024 * 1024 + 1), "big.pdf")
    big_id = next(iter(f for f in emulator.files.values() if f.file_name == "big.pdf")).file_id
    assert _call(api, "getFile", file_id=big_id)["description"] == "Bad Request: file is too big"


def test_long_polling_offsets_and_webhook_conflict(api, emulator):
    first = emulator.send_text(42, "/start")
    updates = _call(api, "getUpdates", timeout=0)["result"]
    assert [u["update_id"] for u in updates] == [first]
    assert updates[0]["message"]["entities"][0]["type"] == "bot_command"
    assert _call(api, "getUpdates", offset=first + 1, timeout=0)["result"] == []
    assert _call(api, "setWebhook", url="https://example.org/hook")["ok"]
    assert _call(api, "getUpdates")["error_code"] == 409


def test_flood_limits_answer_429_with_retry_after():
    with BotApiEmulator(flood_limits=FloodLimits(per_chat_burst=3)) as emulator:
        emulator.add_user(42, "Ana")
        with httpx.Client(base_url=f"{emulator.base_url}{emulator.token}/") as api:
            results = [_call(api, "sendMessage", chat_id=42, text=str(i)) for i in range(5)]
    assert [r["ok"] for r in results[:3]] == [True, True, True]
    assert results[3]["error_code"] == 429 and results[3]["parameters"]["retry_after"] >= 1


def test_fault_injection(api, emulator):
    emulator.inject_fault("getMe", "500")
    assert _call(api, "getMe")["error_code"] == 500
    assert _call(api, "getMe")["ok"]
    emulator.inject_fault("getMe", "drop")
    with pytest.raises(httpx.HTTPError):
        api.post("getMe")


def test_edit_delete_commands_and_callback_answers(api, emulator):
    message = _call(api, "sendMessage", chat_id=42, text="v1")["result"]
    edited = _call(api, "editMessageText", chat_id=42, message_id=message["message_id"], text="v2")
    assert edited["result"]["text"] == "v2"
    same = _call(api, "editMessageText", chat_id=42, message_id=message["message_id"], text="v2")
    assert "not modified" in same["description"]
    assert _call(api, "deleteMessage", chat_id=42, message_id=message["message_id"])["ok"]
    assert emulator.chat(42) == []
    assert _call(api, "setMyCommands", commands=[{"command": "aide", "description": "Aide"}])["ok"]
    assert _call(api, "setMyCommands", commands=[{"command": "Bad-Name", "description": "x"}])["ok"] is False
    assert _call(api, "answerCallbackQuery", callback_query_id="7", text="ok")["ok"]
    assert emulator.callback_answer("7") == {"text": "ok", "show_alert": False}
    again = _call(api, "answerCallbackQuery", callback_query_id="7")
    assert again["error_code"] == 400 and "query is too old" in again["description"]  # one answer per query
    emulator.set_blocked(42, True)
    assert _call(api, "sendMessage", chat_id=42, text="x")["error_code"] == 403
