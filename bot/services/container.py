"""The services the handlers may call, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.domain.report import Catalogue, default_catalogue
from bot.services.conversations import Conversations
from bot.services.directory import Directory
from bot.services.onboarding import Onboarding
from bot.storage.db import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    directory: Directory
    onboarding: Onboarding
    conversations: Conversations
    catalogue: Catalogue

    @classmethod
    def build(cls, settings: Settings, db: Database) -> Services:
        return cls(
            settings=settings,
            db=db,
            directory=Directory(db, settings.staff_telegram_ids),
            onboarding=Onboarding(db, invitation_ttl=settings.invitation_ttl),
            conversations=Conversations(db),
            catalogue=default_catalogue(),
        )
