from datetime import timedelta

import pytest

from bot.config import ConfigError, load_settings

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"


def test_defaults_are_sensible():
    settings = load_settings({})
    assert settings.bot_token is None
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("data/coachbot.db")
    assert str(settings.timezone) == "Europe/Paris"
    assert settings.accessibility_contact == "handi@cnam-paysdelaloire.fr"
    assert settings.webhook is None and settings.llm is None
    assert settings.invitation_ttl == timedelta(days=14)
    assert settings.opinion_days == 14 and settings.retention_months == 12


def test_values_are_parsed():
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "STAFF_TELEGRAM_IDS": " 12, 34 ,",
            "DATABASE_URL": "postgresql://bot@db/coachbot",
            "WEBHOOK_URL": "https://bot.example.org/telegram/hook",
            "WEBHOOK_SECRET": "s3cret_value",
            "TELEGRAM_BOT_USERNAME": "@cnam_coachbot",
        }
    )
    assert settings.staff_telegram_ids == {12, 34}
    assert settings.database_url == "postgresql+psycopg://bot@db/coachbot"
    assert settings.webhook.path == "telegram/hook" and settings.webhook.secret_token == "s3cret_value"
    assert settings.bot_username == "cnam_coachbot"
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN"),
        ({"STAFF_TELEGRAM_IDS": "12,abc"}, "STAFF_TELEGRAM_IDS"),
        ({"STAFF_TELEGRAM_IDS": "12,3²"}, "STAFF_TELEGRAM_IDS"),
        ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
        ({"WEBHOOK_URL": "https://bot.example.org/hook"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_URL": "http://bot.example.org/hook", "WEBHOOK_SECRET": "x"}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": "https://b.example.org", "WEBHOOK_SECRET": "bad secret!"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_URL": "https://b.example.org", "WEBHOOK_SECRET": "ok", "WEBHOOK_PORT": "70000"}, "WEBHOOK_PORT"),
        ({"INVITATION_TTL_DAYS": "zero"}, "INVITATION_TTL_DAYS"),
        ({"HOLIDAYS_ALSACE_MOSELLE": "peut-être"}, "HOLIDAYS_ALSACE_MOSELLE"),
        ({"LLM_BASE_URL": "http://127.0.0.1:11434/v1"}, "LLM_MODEL"),
        ({"SCHOOL_HOLIDAY_ZONE": "D"}, "SCHOOL_HOLIDAY_ZONE"),
        ({"OPINION_DAYS": "0"}, "OPINION_DAYS"),
        ({"OPINION_DAYS": "quinze"}, "OPINION_DAYS"),
        ({"OPINION_DAYS": "91"}, "OPINION_DAYS"),
    ],
)
def test_invalid_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.variable == variable


def test_the_opinion_delay_is_read_within_its_bounds():
    assert load_settings({"OPINION_DAYS": "1"}).opinion_days == 1
    assert load_settings({"OPINION_DAYS": " 90 "}).opinion_days == 90


def test_run_requires_a_token():
    with pytest.raises(ConfigError) as caught:
        load_settings({}).require_token()
    assert caught.value.variable == "TELEGRAM_BOT_TOKEN"
