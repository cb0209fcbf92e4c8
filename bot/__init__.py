"""coachbot: a Telegram bot coaching Cnam auditeurs through their professional-experience report."""

__version__ = "0.1.0"
