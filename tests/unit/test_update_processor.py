import asyncio
import logging

from telegram import Update, User, Message, Chat
from datetime import datetime, UTC

from bot.telegram.log_redaction import install_redaction
from bot.telegram.update_processor import OrderedUpdateQueue, PerUserUpdateProcessor


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


async def test_a_message_to_someone_waits_until_their_update_is_answered_and_no_longer():
    processor = PerUserUpdateProcessor()
    events: list[str] = []
    answering = asyncio.Event()

    async def handler() -> None:
        answering.set()
        await asyncio.sleep(0.05)
        events.append("answered")

    async def owed_message(user_id: int, label: str) -> None:
        await answering.wait()
        await processor.until_answered(user_id, timeout=5)
        events.append(label)

    await asyncio.gather(processor.process_update(_update(1, 10), handler()),
                         owed_message(10, "to the person who acted"), owed_message(20, "to someone else"))
    assert events == ["to someone else", "answered", "to the person who acted"]


async def test_waiting_for_an_answer_gives_up_at_its_timeout():
    processor = PerUserUpdateProcessor()
    started, release = asyncio.Event(), asyncio.Event()

    async def long_conversation() -> None:
        started.set()
        await release.wait()

    handling = asyncio.create_task(processor.process_update(_update(1, 10), long_conversation()))
    await started.wait()
    loop = asyncio.get_running_loop()
    begun = loop.time()
    await processor.until_answered(10, timeout=0.1)
    assert loop.time() - begun >= 0.1 and not handling.done()  # gave up waiting: the conversation goes on
    release.set()
    await handling
    await processor.until_answered(10, timeout=5)  # idle: at once


async def test_memory_stays_bounded_idle_locks_are_dropped():
    processor = PerUserUpdateProcessor(done_window=100)

    async def nothing() -> None:
        pass

    for update_id in range(1, 1001):
        await processor.process_update(_update(update_id, 10_000 + update_id % 50), nothing())
    assert processor.memory == {"locks": 0, "done_ids": 100, "reserved": 0}
    await processor.wait_for_update(1000, timeout=1)


async def test_webhook_queue_takes_the_turn_before_acknowledging_and_drops_redeliveries():
    processor = PerUserUpdateProcessor()
    queue = OrderedUpdateQueue(processor, gate=True)
    events: list[str] = []

    async def work(name: str, delay: float) -> None:
        events.append(f"start {name}")
        await asyncio.sleep(delay)
        events.append(f"end {name}")

    await queue.put(_update(1, 10))  # holds person 10's turn from here
    second = asyncio.create_task(queue.put(_update(2, 10)))  # Telegram waits for this answer
    await queue.put(_update(1, 10))  # a redelivery of update 1: acknowledged, not queued again
    await asyncio.sleep(0.02)
    assert not second.done() and queue.qsize() == 1
    first = await queue.get()
    await processor.process_update(first, work("u1", 0.01))
    await asyncio.wait_for(second, 1)
    await processor.process_update(await queue.get(), work("u2", 0.0))
    assert events == ["start u1", "end u1", "start u2", "end u2"]
    assert queue.qsize() == 0 and processor.memory["locks"] == 0


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
