import asyncio
import logging

from telegram import Update, User, Message, Chat
from datetime import datetime, UTC

from bot.telegram.log_redaction import install_redaction
from bot.telegram.update_processor import PerUserUpdateProcessor


def _update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "U", False)
    message = Message(update_id, datetime.now(UTC), Chat(user_id, "private"), from_user=user, text="x")
    return Update(update_id, message=message)


async def test_one_person_in_order_different_people_concurrently():
    processor = PerUserUpdateProcessor()
    events: list[str] = []

    async def work(name: str, delay: float) -> None:
        events.append(f"start {name}")
        await asyncio.sleep(delay)
        events.append(f"end {name}")

    await asyncio.gather(
        processor.process_update(_update(1, 10), work("a1", 0.05)),
        processor.process_update(_update(2, 10), work("a2", 0.0)),
        processor.process_update(_update(3, 20), work("b1", 0.0)),
    )
    assert events.index("end a1") < events.index("start a2")  # same person: in order
    assert events.index("end b1") < events.index("end a1")  # someone else did not wait
    await processor.wait_for_update(2, timeout=1)


def test_the_token_never_reaches_a_log_record(caplog):
    token = "999999:SECRET-token-value-ABCDEFGHIJ"
    install_redaction([token])
    try:
        logger = logging.getLogger("test.redaction")
        with caplog.at_level(logging.INFO):
            logger.info("POST https://api.telegram.org/bot%s/getMe", token)
            try:
                raise RuntimeError(f"failed https://api.telegram.org/bot{token}/sendMessage")
            except RuntimeError:
                logger.exception("boom")
        assert token not in caplog.text
        assert "[REDACTED]" in caplog.text
    finally:
        install_redaction([])
