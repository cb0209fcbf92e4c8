import pytest

from bot.config import ConfigError, load_settings


def test_smtp_is_off_without_a_host() -> None:
    assert load_settings({}).smtp is None


def test_smtp_defaults_to_starttls_on_587() -> None:
    smtp = load_settings({"SMTP_HOST": "smtp.example.org", "SMTP_FROM": "bot@example.org"}).smtp
    assert (smtp.host, smtp.port, smtp.security, smtp.username) == ("smtp.example.org", 587, "starttls", None)
    assert load_settings({"SMTP_HOST": "h", "SMTP_FROM": "a@b.fr", "SMTP_SECURITY": "ssl"}).smtp.port == 465


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SMTP_HOST": "h"}, "SMTP_FROM"),
        ({"SMTP_HOST": "h", "SMTP_FROM": "a@b.fr", "SMTP_SECURITY": "tls13"}, "SMTP_SECURITY"),
        ({"SMTP_HOST": "h", "SMTP_FROM": "a@b.fr", "SMTP_USERNAME": "u"}, "SMTP_PASSWORD"),
        ({"SMTP_HOST": "h", "SMTP_FROM": "a@b.fr", "SMTP_PORT": "0"}, "SMTP_PORT"),
    ],
)
def test_bad_smtp_settings_name_the_variable(env, variable) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert variable in str(error.value)
