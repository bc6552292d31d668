"""A real WordPress (Debian's 6.1 package, PHP's built-in server, MariaDB) against a real
CommentGate (``commentgate serve`` and ``commentgate worker``, the shipped model), both ways a
WordPress site can use it:

* the bundled Akismet plugin (5.0.2), pointed at CommentGate by the README's must-use plugin,
  its key entered on its own settings page;
* CommentGate's own plugin (``integrations/wordpress/commentgate``), configured on its settings
  page, deciding by signed webhook.

WordPress and CommentGate start once for the module; the tests run in order and share them (the
Akismet plugin first, then CommentGate's own). Run with ``-s`` to see the decision table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from classifier import Registry
from classifier.shipped import SHIPPED_MODEL
from service.db import make_engine, make_session_factory, session_scope
from service.migrate import upgrade
from service.models import Comment, Decision, LabeledExample, WebhookDelivery
from tests.conftest import REPO, Stack, stop_process, wait_for
from tests.support.local import free_port
from tests.support.wordpress import Admin, WordPress, hidden

pytestmark = pytest.mark.integration

PLUGIN = REPO / "integrations" / "wordpress" / "commentgate"
AKISMET = "akismet/akismet.php"
NATIVE = "commentgate/commentgate.php"
README_HOST = "https://moderation.example.org"

LEGIT = "Thanks for the summary. Do you have a source for the 60,000 troops figure?"
SPAM = "Great post! Visit http://cheap-pills.example for cheap pills, best prices, buy now"
LINK_DROP = "Great post! Visit http://cheap-pills.example"  # held for a person to judge
TOXIC = "You are a brainless idiot and everyone who reads this garbage is a moron."


@dataclass
class Service:
    """CommentGate as ``commentgate serve`` and ``commentgate worker``; the API on a fixed port,
    so that WordPress keeps its address across an outage."""

    stack: Stack
    port: int = field(default_factory=free_port)
    api: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """The API; the worker is started once, by the fixture."""
        log = open(self.stack.home / "api.log", "ab")  # noqa: SIM115
        command = ["serve", "--port", str(self.port), "--workers", "1"]
        self.api = subprocess.Popen(
            [sys.executable, "-m", "service.cli", *command],
            cwd=REPO,
            env=self.stack.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for(lambda: self._ready() or self.api.poll() is not None, 90, 0.1)
        assert self.api.poll() is None, (self.stack.home / "api.log").read_text()[-3000:]

    def stop(self) -> None:
        """An outage: the API's processes die at once (nothing gets to clean up)."""
        if self.api is not None:
            stop_process(self.api, signal.SIGKILL)

    def _ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def comments(self, **where: Any) -> list[Comment]:
        engine = make_engine(self.stack.settings.database_url)
        try:
            with session_scope(make_session_factory(engine)) as session:
                query = select(Comment).filter_by(**where).order_by(Comment.received_at)
                rows = list(session.scalars(query))
                session.expunge_all()
                return rows
        finally:
            engine.dispose()

    def count(self) -> int:
        engine = make_engine(self.stack.settings.database_url)
        try:
            with session_scope(make_session_factory(engine)) as session:
                return session.scalar(select(func.count()).select_from(Comment)) or 0
        finally:
            engine.dispose()

    def decided_by(self, comment_id: str) -> list[str]:
        """Who made each of a comment's decisions, oldest first."""
        engine = make_engine(self.stack.settings.database_url)
        try:
            with session_scope(make_session_factory(engine)) as session:
                query = (
                    select(Decision.decided_by)
                    .where(Decision.comment_id == comment_id)
                    .order_by(Decision.decided_at, Decision.id)
                )
                return list(session.scalars(query))
        finally:
            engine.dispose()

    def delivered(self, comment_id: str) -> bool:
        """Whether every webhook about the comment has reached WordPress."""
        engine = make_engine(self.stack.settings.database_url)
        try:
            with session_scope(make_session_factory(engine)) as session:
                query = select(WebhookDelivery.status).where(
                    WebhookDelivery.comment_id == comment_id
                )
                return all(status == "delivered" for status in session.scalars(query))
        finally:
            engine.dispose()

    def labels(self, comment_id: str) -> set[tuple[str, int, str]]:
        engine = make_engine(self.stack.settings.database_url)
        try:
            with session_scope(make_session_factory(engine)) as session:
                rows = session.scalars(
                    select(LabeledExample).where(LabeledExample.comment_id == comment_id)
                )
                return {(r.task, r.label, r.source) for r in rows}
        finally:
            engine.dispose()


@dataclass
class Row:
    way: str
    text: str
    wordpress: str
    commentgate: str


TABLE: list[Row] = []
AKISMET_IDS: dict[str, int] = {}  # text -> WordPress comment id, posted with the Akismet plugin
NATIVE_IDS: dict[str, int] = {}  # the same, with CommentGate's plugin
WP_STATUS = {"1": "approved", "0": "pending", "spam": "spam", "trash": "trash"}


def decision_of(comment: Comment) -> str:
    reasons = [r.get("code", "?") for r in comment.reasons or [] if isinstance(r, dict)]
    codes = ", ".join(f"`{code}`" for code in reasons)
    return f"{comment.action} ({codes})" if codes else str(comment.action)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A fresh installation with the shipped model, as ``commentgate run`` makes one."""
    home = tmp_path_factory.mktemp("commentgate")
    models = home / "models"
    registry = Registry(models)
    registry.promote(registry.install(SHIPPED_MODEL))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTGATE_")}
    env.update(
        COMMENTGATE_HOME=str(home),
        COMMENTGATE_MODEL_DIR=str(models),
        COMMENTGATE_WEBHOOK_ALLOW_PRIVATE="true",  # WordPress listens on this machine
        COMMENTGATE_WEBHOOK_RETRY_SCHEDULE="0.5,1,2,2,2,2,2",
        PYTHONUNBUFFERED="1",
    )
    stack = Stack(name="wordpress", env=env, home=home)
    engine = make_engine(stack.settings.database_url)
    upgrade(engine)
    engine.dispose()
    service = Service(stack)
    service.start()
    stack.start_worker(concurrency=1)
    yield service
    service.stop()
    stack.stop_workers()


@pytest.fixture(scope="module")
def wordpress(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPress]:
    site = WordPress.install(tmp_path_factory.mktemp("wp"))
    site.add_plugin(PLUGIN)
    site.serve()
    wait_for(lambda: _answers(site.url), 20, 0.1)
    yield site
    site.drop()


@pytest.fixture(scope="module")
def blog(service: Service, wordpress: WordPress) -> dict[str, Any]:
    """The blog's CommentGate site, created as the README says; its webhooks go to the plugin."""
    hook = f"{wordpress.url}/?rest_route=/commentgate/v1/webhook"
    return service.stack.cli_json("sites", "create", "blog", "--webhook-url", hook)


@pytest.fixture(scope="module")
def admin(wordpress: WordPress) -> Admin:
    return wordpress.admin()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


VISITORS = itertools.count(10)


def visitor() -> str:
    """A new visitor's address (documentation range): WordPress refuses a second comment from
    one address within 15 seconds as a flood, and CommentGate links an address's comments."""
    return f"198.51.100.{next(VISITORS)}"


def post(wp: WordPress, text: str, name: str = "Reader") -> int:
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.org"
    return wp.visitor_comment(text, name, email, visitor())


# --- the Akismet plugin --------------------------------------------------------------------


def readme_mu_plugin(base: str) -> str:
    """The README's must-use plugin, pointed at this CommentGate."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### The bundled Akismet plugin") :]
    block = re.search(r"```php\n(.*?)```", section, re.S)
    assert block and README_HOST in block.group(1)
    return block.group(1).replace(README_HOST, base)


def test_akismet_key_is_accepted_on_its_settings_page(
    wordpress: WordPress, service: Service, blog: dict[str, Any], admin: Admin
) -> None:
    wordpress.add_mu_plugin("commentgate.php", readme_mu_plugin(service.url))
    wordpress.activate(AKISMET)
    page = admin.page("options-general.php?page=akismet-key-config")
    answer = admin.form(
        "options-general.php?page=akismet-key-config",
        {"_wpnonce": hidden(page, "_wpnonce"), "action": "enter-key", "key": blog["akismet_key"]},
    )
    assert answer.status_code == 200
    stored = wordpress.php("echo get_option( 'wordpress_api_key' );")
    assert stored == blog["akismet_key"]
    settings = admin.page("options-general.php?page=akismet-key-config")
    assert "connect to the Akismet servers" not in settings, "the plugin's /1.1/test failed"
    assert wordpress.php("echo Akismet::verify_key( Akismet::get_api_key() );") == "valid"


def test_akismet_decides_legitimate_spam_and_toxic_comments(
    wordpress: WordPress, service: Service
) -> None:
    expected = {LEGIT: {"1"}, SPAM: {"spam"}, TOXIC: {"spam", "1", "0"}}
    for text, statuses in expected.items():
        comment_id = AKISMET_IDS[text] = post(wordpress, text)
        status = wordpress.status(comment_id)
        [stored] = service.comments(content=text)
        TABLE.append(Row("Akismet", text, WP_STATUS[status], decision_of(stored)))
        assert status in statuses, (text, status, decision_of(stored))
    [toxic] = service.comments(content=TOXIC)
    assert toxic.action in ("hold", "reject"), "a toxic comment is not approved"
    assert wordpress.status(AKISMET_IDS[TOXIC]) != "trash", "nothing is discarded"


def test_akismet_feedback_reaches_the_stored_comments_labels(
    wordpress: WordPress, service: Service, admin: Admin
) -> None:
    legit_id, spam_id = AKISMET_IDS[LEGIT], AKISMET_IDS[SPAM]
    [legit] = service.comments(content=LEGIT)
    [spam] = service.comments(content=SPAM)

    admin.comment_action(legit_id, "spamcomment")  # "Spam" on a published comment
    admin.comment_action(spam_id, "unspamcomment")  # "Not Spam" in the spam folder
    assert wordpress.status(legit_id) == "spam"
    assert wait_for(lambda: ("spam", 1, "akismet") in service.labels(legit.id), 10)
    assert wait_for(lambda: ("spam", 0, "akismet") in service.labels(spam.id), 10)


def test_akismet_recheck_creates_no_duplicate(
    wordpress: WordPress, service: Service, admin: Admin
) -> None:
    comment_id = post(wordpress, "Which year were the bases in western Iraq first built?")
    assert wordpress.status(comment_id) == "1"
    admin.comment_action(comment_id, "unapprovecomment")
    assert wordpress.status(comment_id) == "0"
    before = service.count()
    page = admin.page("edit-comments.php?comment_status=moderated")
    nonce = re.search(r'data-nonce="(\w+)"', page)
    assert nonce, "no Check for Spam button"
    answer = admin.post(
        f"{wordpress.url}/wp-admin/admin-ajax.php",
        data={"action": "akismet_recheck_queue", "offset": "0", "limit": "100", "nonce": nonce[1]},
        timeout=60,
    )
    assert answer.json()["counts"]["processed"] >= 1, answer.text
    assert answer.json()["counts"]["error"] == 0, answer.text
    assert service.count() == before, "the re-check found the checked comment"


def test_akismet_outage_is_cleared_by_the_scheduled_recheck(
    wordpress: WordPress, service: Service
) -> None:
    service.stop()
    try:
        during = [post(wordpress, LEGIT + " (asked again)"), post(wordpress, SPAM + " today")]
        assert [wordpress.status(i) for i in during] == ["0", "0"], "held while unreachable"
        assert all(wordpress.meta(i, "akismet_error") for i in during)
    finally:
        service.start()
    wordpress.run_cron_hook("akismet_schedule_cron_recheck")
    assert [wordpress.status(i) for i in during] == ["1", "spam"]
    assert not any(wordpress.meta(i, "akismet_error") for i in during)
    assert len(service.comments(content=SPAM + " today")) == 1


# --- CommentGate's own plugin --------------------------------------------------------------


def test_native_plugin_settings_page_and_connection_test(
    wordpress: WordPress, service: Service, blog: dict[str, Any], admin: Admin
) -> None:
    wordpress.deactivate(AKISMET)
    wordpress.activate(NATIVE)
    page = admin.page("options-general.php?page=commentgate")
    shown = re.search(r'id="commentgate-webhook-url">([^<]+)<', page)
    assert shown and "rest_route=/commentgate/v1/webhook" in shown[1], "the URL to give CommentGate"
    saved = admin.form(
        "options.php",
        {
            "option_page": "commentgate",
            "action": "update",
            "_wpnonce": hidden(page, "_wpnonce"),
            "_wp_http_referer": "/wp-admin/options-general.php?page=commentgate",
            "commentgate_settings[url]": service.url,
            "commentgate_settings[api_key]": blog["api_key"],
            "commentgate_settings[webhook_secret]": blog["webhook_secret"],
        },
    )
    assert saved.status_code == 200
    page = admin.page("options-general.php?page=commentgate")
    tested = admin.form(
        "admin-post.php",
        {
            "action": "commentgate_test",
            "_wpnonce": hidden(page.split("admin-post.php")[1], "_wpnonce"),
        },
    )
    assert "The API key is valid." in tested.text, tested.text[-3000:]
    assert "notice-error" not in tested.text
    assert blog["api_key"] not in tested.text, "the page never shows a saved secret"

    constants = "define( 'COMMENTGATE_URL', 'https://moderation.example.org/' );"
    read = "echo CommentGate_Settings::url(), ' ', CommentGate_Settings::get( 'api_key' );"
    shown = wordpress.php(f"{constants}\nrequire __DIR__ . '/wp-load.php';\n{read}", load=False)
    assert shown == f"https://moderation.example.org {blog['api_key']}", "wp-config.php wins"


def wait_decided(wordpress: WordPress, comment_id: int, timeout: float = 15) -> str:
    """The comment's status once the plugin has followed CommentGate's webhook."""
    wait_for(lambda: wordpress.meta(comment_id, "_commentgate_action"), timeout, 0.1)
    return wordpress.status(comment_id)


def test_native_plugin_decides_by_webhook_within_seconds(
    wordpress: WordPress, service: Service, admin: Admin
) -> None:
    expected = {LEGIT: {"1"}, SPAM: {"0", "spam"}, TOXIC: {"0", "spam"}}
    for text, statuses in expected.items():
        started = time.monotonic()
        comment_id = NATIVE_IDS[text] = post(wordpress, text)
        assert wordpress.status(comment_id) == "0", "pending until CommentGate decides"
        status = wait_decided(wordpress, comment_id)
        elapsed = time.monotonic() - started
        [stored] = service.comments(external_id=str(comment_id))
        TABLE.append(Row("CommentGate", text, WP_STATUS[status], decision_of(stored)))
        assert status in statuses, (text, status, decision_of(stored))
        assert elapsed < 10
        assert service.decided_by(stored.id) in (["model"], ["rule"]), "nothing echoed back"
    listing = admin.page("edit-comments.php?comment_status=all")
    assert 'class="commentgate-action"' in listing and "commentgate-reasons" in listing


def test_moderator_in_commentgate_changes_wordpress(wordpress: WordPress, service: Service) -> None:
    comment_id = post(wordpress, LINK_DROP)
    wait_decided(wordpress, comment_id)
    [held] = service.comments(external_id=str(comment_id))
    assert held.status == "held" and wordpress.status(comment_id) == "0"
    token = service.stack.cli_json("moderators", "create", "ana@example.org", "--site", "blog")
    answer = requests.post(
        f"{service.url}/v1/moderation/comments/{held.id}/decision",
        json={"action": "reject", "label": "spam"},
        headers={"Authorization": f"Bearer {token['token']}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    wait_for(lambda: wordpress.status(comment_id) == "spam", 10, 0.1)
    wait_for(lambda: service.delivered(held.id), 10, 0.1)
    assert service.decided_by(held.id) == ["model", "moderator"], "WordPress sent nothing back"


def test_moderator_in_wordpress_reaches_commentgate(
    wordpress: WordPress, service: Service, admin: Admin
) -> None:
    comment_id = NATIVE_IDS[LEGIT]
    [legit] = service.comments(external_id=str(comment_id))
    assert wordpress.status(comment_id) == "1"
    admin.comment_action(comment_id, "spamcomment")
    [after] = service.comments(id=legit.id)
    assert after.status == "rejected" and after.decided_by == "moderator"
    assert ("spam", 1, "moderator") in service.labels(legit.id)
    wait_for(lambda: service.delivered(legit.id), 10, 0.1)  # the decision's own webhook
    assert wordpress.status(comment_id) == "spam", "came back and changed nothing"

    admin.comment_action(comment_id, "unspamcomment")  # "Not Spam": back where it was
    [after] = service.comments(id=legit.id)
    assert after.status == "approved" and after.decided_by == "moderator"
    assert ("spam", 0, "moderator") in service.labels(legit.id)
    wait_for(lambda: service.delivered(legit.id), 10, 0.1)
    assert wordpress.status(comment_id) == "1"
    assert service.decided_by(legit.id) == ["model", "moderator", "moderator"]


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_forged_and_replayed_webhooks_are_refused(
    wordpress: WordPress, service: Service, blog: dict[str, Any]
) -> None:
    comment_id = NATIVE_IDS[TOXIC]
    [held] = service.comments(external_id=str(comment_id))
    assert wordpress.status(comment_id) == "0"
    hook = f"{wordpress.url}/?rest_route=/commentgate/v1/webhook"
    now = int(time.time())
    data = {
        "comment_id": held.id,
        "external_id": str(comment_id),
        "action": "approve",
        "decided_by": "moderator",
        "decided_at": "2999-01-01T00:00:00+00:00",
        "reasons": [{"code": "moderator", "message": "approved"}],
    }
    body = json.dumps({"type": "comment.decided", "timestamp": "…", "data": data})

    def send(message_id: str, timestamp: int, signature: str) -> requests.Response:
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
            "Content-Type": "application/json",
        }
        return requests.post(hook, data=body, headers=headers, timeout=10)

    wrong = "whsec_" + base64.b64encode(b"not the site's secret, 32 bytes").decode()
    assert send("msg_forged", now, sign(wrong, "msg_forged", now, body)).status_code == 401
    stale = now - 600
    assert (
        send("msg_stale", stale, sign(blog["webhook_secret"], "msg_stale", stale, body)).status_code
        == 401
    )
    assert wordpress.status(comment_id) == "0", "nothing forged was applied"

    # A rotation signs with the old and the new secret: any one valid signature is enough.
    secret = blog["webhook_secret"]
    both = f"{sign(wrong, 'msg_real', now, body)} {sign(secret, 'msg_real', now, body)}"
    first = send("msg_real", now, both)
    assert first.status_code == 200 and first.json()["result"] == "applied", first.text
    assert wordpress.status(comment_id) == "1"

    wordpress.php(f"wp_set_comment_status( {comment_id}, 'hold' );")
    again = send("msg_real", now, both)
    assert again.status_code == 200 and again.json()["result"] == "duplicate"
    assert wordpress.status(comment_id) == "0", "the replay changed nothing"


def test_trash_in_wordpress_is_a_rejection(
    wordpress: WordPress, service: Service, admin: Admin
) -> None:
    comment_id = NATIVE_IDS[TOXIC]
    admin.comment_action(comment_id, "trashcomment")
    assert wordpress.status(comment_id) == "trash"
    [stored] = service.comments(external_id=str(comment_id))
    assert stored.status == "rejected" and stored.decided_by == "moderator"
    assert service.labels(stored.id) == {("toxicity", 1, "moderator")}, "the model's higher score"
    wait_for(lambda: service.delivered(stored.id), 10, 0.1)
    assert wordpress.status(comment_id) == "trash", "a rejection leaves the trash alone"


def test_outage_loses_nothing(wordpress: WordPress, service: Service, admin: Admin) -> None:
    """CommentGate's API and worker both die. Comments posted meanwhile wait, pending, and a
    moderator's decision taken meanwhile waits with them; once CommentGate is back, the retry
    event sends both, and the comment left alone is decided by webhook."""
    service.stop()
    service.stack.stop_workers()
    try:
        waiting = post(wordpress, LEGIT + " (posted while CommentGate was down)")
        judged = post(wordpress, SPAM + " (also while it was down)")
        assert [wordpress.status(waiting), wordpress.status(judged)] == ["0", "0"]
        admin.comment_action(judged, "spamcomment")
        wordpress.run_cron_hook("commentgate_retry")  # a run during the outage keeps them queued
        assert wordpress.meta(waiting, "_commentgate_retry")
        assert wordpress.meta(judged, "_commentgate_retry")
    finally:
        service.start()
        service.stack.start_worker(concurrency=1)
    wordpress.run_cron_hook("commentgate_retry")
    assert not wordpress.meta(waiting, "_commentgate_retry")
    assert not wordpress.meta(judged, "_commentgate_retry")
    assert wait_decided(wordpress, waiting) == "1"
    [stored] = service.comments(external_id=str(judged))
    assert stored.status == "rejected" and stored.decided_by == "moderator"
    assert ("spam", 1, "moderator") in service.labels(stored.id)
    wait_for(lambda: service.delivered(stored.id), 10, 0.1)
    assert wordpress.status(judged) == "spam", "the moderator's decision stands"


def test_print_decision_table() -> None:
    """The table for the README's WordPress section, from this run."""
    assert TABLE
    lines = [
        "| comment | plugin | WordPress status | CommentGate decision (reasons) |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {r.text} | {r.way} | {r.wordpress} | {r.commentgate} |" for r in TABLE]
    print("\n" + "\n".join(lines))


def test_no_php_warnings(wordpress: WordPress) -> None:
    """Neither plugin made PHP complain (WordPress's own update checks, which cannot reach
    WordPress.org here, and PHP 8.2's deprecations in WordPress 6.1 are not ours)."""
    log = wordpress.debug_log.read_text() if wordpress.debug_log.exists() else ""
    problems = [
        line
        for line in log.splitlines()
        if re.search(r"PHP (Fatal|Warning|Notice|Parse)", line) and "WordPress.org" not in line
    ]
    assert not problems, "\n".join(problems[:20])
