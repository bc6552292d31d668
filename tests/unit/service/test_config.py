"""Settings come from COMMENTGATE_* variables only, with server-less defaults."""

from __future__ import annotations

from pathlib import Path

from service.config import Settings


def test_defaults_need_no_server(tmp_path: Path) -> None:
    settings = Settings.from_env({"COMMENTGATE_HOME": str(tmp_path)})
    assert settings.database_url.startswith("sqlite:///") and str(tmp_path) in settings.database_url
    assert settings.is_embedded_broker
    assert settings.model_dir == tmp_path / "models"
    assert settings.webhook_allow_private is False
    assert (tmp_path / "secret_key").read_text() == settings.secret_key


def test_urls_and_flags_are_read(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "COMMENTGATE_HOME": str(tmp_path),
            "COMMENTGATE_DATABASE_URL": "postgresql+psycopg://u@db/x",
            "COMMENTGATE_BROKER_URL": "redis://r:6379/0",
            "COMMENTGATE_WEBHOOK_ALLOW_PRIVATE": "true",
            "COMMENTGATE_MODEL_DIR": str(tmp_path / "m"),
        }
    )
    assert settings.database_url == "postgresql+psycopg://u@db/x"
    assert not settings.is_embedded_broker
    assert settings.rate_limit_storage_url == "redis://r:6379/0"
    assert settings.webhook_allow_private is True
    assert settings.model_dir == tmp_path / "m"


def test_session_cookies_are_secure_unless_turned_off(tmp_path: Path) -> None:
    from service import create_app

    secure = create_app(Settings.from_env({"COMMENTGATE_HOME": str(tmp_path)}))
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    assert secure.config["SESSION_COOKIE_HTTPONLY"] is True
    plain = create_app(
        Settings.from_env({"COMMENTGATE_HOME": str(tmp_path), "COMMENTGATE_SECURE_COOKIES": "no"})
    )
    assert plain.config["SESSION_COOKIE_SECURE"] is False


def test_behind_trusted_proxies_the_forwarded_client_address_counts(tmp_path: Path) -> None:
    from flask import request

    from service import create_app

    def client_address(trusted: str) -> str:
        env = {"COMMENTGATE_HOME": str(tmp_path), "COMMENTGATE_TRUSTED_PROXIES": trusted}
        app = create_app(Settings.from_env(env))
        app.add_url_rule("/address", "address", lambda: f"{request.remote_addr} {request.scheme}")
        answer = app.test_client().get(
            "/address",
            headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Forwarded-Proto": "https"},
            environ_base={"REMOTE_ADDR": "172.18.0.5"},
        )
        return answer.get_data(as_text=True)

    assert client_address("0") == "172.18.0.5 http"  # the default: headers are not trusted
    assert client_address("1") == "203.0.113.9 https"  # the proxy's own view, not a spoofed one


def test_the_readme_documents_every_setting() -> None:
    from dataclasses import fields

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = [f"COMMENTGATE_{f.name.upper()}" for f in fields(Settings) if f.name != "extra"]
    assert [name for name in names if f"`{name}`" not in table] == []
