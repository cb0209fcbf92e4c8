"""Who the people writing to the bot are, remembered between their updates.

Identifying the person and reading their enrolment were two database reads per update, most of
the time spent on a `/aide`. This cache keeps both, and forgets a person as soon as they change:

- in this process, right after the commit that changed them (`Database.after_people_commit`);
- on another instance, when its follower thread reads the `people_changes` rows (every second,
  see `bot/storage/people_changes.py`);
- a value read before such a change is never stored after it: each read notes the cache's
  `epoch` first, and a value put with an older epoch is dropped (the read may predate the change).

Without news from the database (the follower is not running, or cannot read), an entry is trusted
for `ttl` seconds; while the follower reads every second, for `followed_ttl` (a backstop). Only
bound people are remembered: an unknown account may be bound by another instance at any moment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

from bot.domain.people import EnrolmentView, PersonView
from bot.storage.people_changes import EVERYONE, ChangeFeed

log = logging.getLogger(__name__)

MISSING = object()  # `enrolment()` when nothing is remembered (None is a remembered "no enrolment")


class PeopleCache:
    def __init__(self, *, ttl: float = 10.0, followed_ttl: float = 600.0, size: int = 10_000) -> None:
        self._ttl = ttl
        self._followed_ttl = followed_ttl
        self._trusted_for = ttl
        self._size = size
        self._lock = threading.Lock()
        self._epoch = 0
        # key -> (stored at, value, ids of the people it shows)
        self._people: OrderedDict[int, tuple[float, PersonView, frozenset[int]]] = OrderedDict()
        self._enrolments: OrderedDict[int, tuple[float, EnrolmentView | None, frozenset[int]]] = OrderedDict()

    # -- reading ------------------------------------------------------------------------------------

    def epoch(self) -> int:
        """Note this before reading the database; give it back to `put_*`."""
        return self._epoch

    def person(self, telegram_user_id: int) -> PersonView | None:
        """The person remembered for this account, or None (unknown here, or expired)."""
        entry = self._get(self._people, telegram_user_id)
        return None if entry is MISSING else entry

    def enrolment(self, auditeur_id: int) -> EnrolmentView | None | object:
        """The auditeur's active enrolment (None: none), or `MISSING` when not remembered."""
        return self._get(self._enrolments, auditeur_id)

    def _get(self, entries: OrderedDict, key: int):
        with self._lock:
            entry = entries.get(key)
            if entry is None:
                return MISSING
            if time.monotonic() - entry[0] > self._trusted_for:
                del entries[key]
                return MISSING
            return entry[1]

    def __len__(self) -> int:
        return len(self._people) + len(self._enrolments)

    # -- remembering ----------------------------------------------------------------------------------

    def put_person(self, telegram_user_id: int, person: PersonView | None, epoch: int) -> None:
        """Remember a bound person read at `epoch`; None (nobody bound) forgets the account."""
        if person is None:
            self.forget_account(telegram_user_id)
            return
        self._put(self._people, telegram_user_id, person, frozenset({person.id}), epoch)

    def put_enrolment(self, auditeur_id: int, enrolment: EnrolmentView | None, epoch: int) -> None:
        related = {auditeur_id} | ({enrolment.tutor.id} if enrolment is not None else set())
        self._put(self._enrolments, auditeur_id, enrolment, frozenset(related), epoch)

    def _put(self, entries: OrderedDict, key: int, value, related: frozenset[int], epoch: int) -> None:
        if self._ttl <= 0 and self._followed_ttl <= 0:
            return
        with self._lock:
            entries.pop(key, None)
            if epoch != self._epoch:
                return  # something changed while this was read: it may be stale
            entries[key] = (time.monotonic(), value, related)
            while len(entries) > self._size:
                entries.popitem(last=False)

    # -- forgetting -----------------------------------------------------------------------------------

    def forget_account(self, telegram_user_id: int) -> None:
        with self._lock:
            self._epoch += 1
            self._people.pop(telegram_user_id, None)

    def invalidate(self, person_ids: Iterable[int | None]) -> None:
        """These people changed (None: anyone may have): forget everything that shows them."""
        changed = set(person_ids)
        if not changed:
            return
        with self._lock:
            self._epoch += 1
            if EVERYONE in changed:
                self._people.clear()
                self._enrolments.clear()
                return
            for entries in (self._people, self._enrolments):
                for key in [k for k, (_, _, related) in entries.items() if related & changed]:
                    del entries[key]

    def clear(self) -> None:
        self.invalidate([EVERYONE])

    # -- following other instances' changes --------------------------------------------------------------

    def follow(self, feed: ChangeFeed, *, interval: float = 1.0, prune_every: int = 600) -> "Follower":
        follower = Follower(self, feed, interval=interval, prune_every=prune_every)
        follower.start()
        return follower

    def trust_followed(self, followed: bool) -> None:
        """While the change feed is read, entries are trusted for `followed_ttl`; else for `ttl`."""
        self._trusted_for = self._followed_ttl if followed else self._ttl


class Follower:
    """A daemon thread reading the change feed every `interval` seconds into the cache."""

    def __init__(self, cache: PeopleCache, feed: ChangeFeed, *, interval: float, prune_every: int) -> None:
        self._cache = cache
        self._feed = feed
        self._interval = interval
        self._prune_every = prune_every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="people-changes", daemon=True)
        self.reads = 0  # successful reads (tests wait on it)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._cache.trust_followed(False)

    def read_once(self) -> None:
        """One read of the feed: forget who changed; if it cannot be read, trust nothing for long."""
        try:
            if not self._feed.started:  # what was remembered before may predate changes never read
                self._feed.start()
                self._cache.clear()
            changed = self._feed.read()
            self.reads += 1
            if self.reads % self._prune_every == 0:
                self._feed.prune()
        except Exception:  # noqa: BLE001 - the database may be down for a while: keep following
            log.warning("people changes unreadable: cache cleared", exc_info=True)
            self._cache.trust_followed(False)
            self._cache.clear()
            return
        self._cache.invalidate(changed)
        self._cache.trust_followed(True)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self.read_once()
            self._stopped.wait(self._interval)
