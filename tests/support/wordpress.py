"""A real WordPress for tests: Debian's ``wordpress`` package served by ``php -S`` from a
temporary tree, on a fresh MariaDB database, installed by ``wp_install()``.

The tree hard-links the package's files (nothing under /usr/share/wordpress is written) and has
its own ``wp-config.php`` and ``wp-content``. Visitors are told apart by ``X-Forwarded-For``,
which the config trusts as a site behind a reverse proxy does.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.local import free_port

PACKAGE = Path("/usr/share/wordpress")
MYSQL = ["mysql", "-h", "127.0.0.1", "-P", "3306", "-u", "root", "--batch", "--skip-column-names"]
ADMIN_USER = "admin"

WP_CONFIG = """<?php
define( 'DB_NAME', '{database}' );
define( 'DB_USER', 'root' );
define( 'DB_PASSWORD', '' );
define( 'DB_HOST', '127.0.0.1:3306' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
{salts}
$table_prefix = 'wp_';
define( 'WP_HOME', '{url}' );
define( 'WP_SITEURL', '{url}' );
define( 'DISABLE_WP_CRON', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'DISALLOW_FILE_MODS', true ); // the tree hard-links the package's files: never write them
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_DEBUG_LOG', '{debug_log}' );
if ( isset( $_SERVER['HTTP_X_FORWARDED_FOR'] ) ) {{
    $_SERVER['REMOTE_ADDR'] = trim( explode( ',', $_SERVER['HTTP_X_FORWARDED_FOR'] )[0] );
}}
if ( ! defined( 'ABSPATH' ) ) {{
    define( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
"""

INSTALL = """
define( 'WP_INSTALLING', true );
require __DIR__ . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
wp_install( 'CommentGate test blog', '{user}', 'admin@example.org', false, '', '{password}' );
foreach ( array(
    'comment_previously_approved' => 0,
    'comment_moderation' => 0,
    'moderation_notify' => 0,
    'comments_notify' => 0,
    'close_comments_for_old_posts' => 0,
) as $option => $value ) {{
    update_option( $option, $value );
}}
"""


def mysql(sql: str, database: str | None = None) -> str:
    args = [*MYSQL, *([database] if database else []), "-e", sql]
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=30).stdout


def _tree(root: Path) -> None:
    """The package's files hard-linked (copied across file systems), minus its config and
    content folder: the PHP files must live in the tree, since PHP resolves symlinks."""
    for entry in PACKAGE.iterdir():
        if entry.name in ("wp-config.php", "wp-content", ".htaccess"):
            continue
        target = root / entry.name
        try:
            subprocess.run(["cp", "-al", str(entry), str(target)], check=True, capture_output=True)
        except subprocess.CalledProcessError:
            shutil.rmtree(target, ignore_errors=True)
            subprocess.run(["cp", "-a", str(entry), str(target)], check=True)
    content = root / "wp-content"
    for folder in ("plugins", "mu-plugins", "uploads"):
        (content / folder).mkdir(parents=True)
    shutil.copytree(PACKAGE / "wp-content" / "themes", content / "themes", copy_function=_link)
    shutil.copytree(
        PACKAGE / "wp-content" / "plugins" / "akismet",
        content / "plugins" / "akismet",
        copy_function=_link,
    )


def _link(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@dataclass
class WordPress:
    """One WordPress installation under ``root``, served on ``port``."""

    root: Path
    port: int
    database: str
    password: str
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def debug_log(self) -> Path:
        return self.root.parent / "wp-debug.log"

    @classmethod
    def install(cls, base: Path) -> WordPress:
        assert PACKAGE.is_dir() and shutil.which("php"), "run scripts/ensure-services.sh"
        root = base / "wordpress"
        root.mkdir(parents=True)
        _tree(root)
        site = cls(root, free_port(), "wp_" + secrets.token_hex(6), secrets.token_urlsafe(16))
        mysql(f"CREATE DATABASE `{site.database}` CHARACTER SET utf8mb4")
        salts = "\n".join(
            f"define( '{name}', '{secrets.token_hex(32)}' );"
            for name in (
                "AUTH_KEY",
                "SECURE_AUTH_KEY",
                "LOGGED_IN_KEY",
                "NONCE_KEY",
                "AUTH_SALT",
                "SECURE_AUTH_SALT",
                "LOGGED_IN_SALT",
                "NONCE_SALT",
            )
        )
        (root / "wp-config.php").write_text(
            WP_CONFIG.format(
                database=site.database, salts=salts, url=site.url, debug_log=site.debug_log
            )
        )
        site.php(INSTALL.format(user=ADMIN_USER, password=site.password), load=False)
        return site

    def php(self, code: str, load: bool = True) -> str:
        """Run PHP in the installation (``wp-load.php`` first, unless ``load`` is False)."""
        script = self.root / f"cli-{secrets.token_hex(4)}.php"
        prelude = "require __DIR__ . '/wp-load.php';\n" if load else ""
        script.write_text(f"<?php\n{prelude}{code}\n")
        try:
            out = subprocess.run(
                ["php", str(script)], cwd=self.root, capture_output=True, text=True, timeout=60
            )
        finally:
            script.unlink()
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    def add_plugin(self, source: Path) -> None:
        """Install a plugin as an admin does: its folder copied into wp-content/plugins."""
        shutil.copytree(source, self.root / "wp-content" / "plugins" / source.name)

    def add_mu_plugin(self, name: str, code: str) -> None:
        (self.root / "wp-content" / "mu-plugins" / name).write_text(code)

    def activate(self, *plugins: str) -> None:
        calls = "".join(f"activate_plugin( '{p}' );" for p in plugins)
        self.php(f"require_once ABSPATH . 'wp-admin/includes/plugin.php';\n{calls}")

    def deactivate(self, *plugins: str) -> None:
        names = ", ".join(f"'{p}'" for p in plugins)
        self.php(
            "require_once ABSPATH . 'wp-admin/includes/plugin.php';\n"
            f"deactivate_plugins( array( {names} ) );"
        )

    def run_cron_hook(self, hook: str) -> str:
        """Run a WP-Cron event's hook now, as wp-cron.php does when it is due."""
        return self.php(f"do_action( '{hook}' );")

    def status(self, comment_id: int) -> str:
        """``comment_approved``: '1', '0', 'spam' or 'trash'."""
        return mysql(
            f"SELECT comment_approved FROM wp_comments WHERE comment_ID = {int(comment_id)}",
            self.database,
        ).strip()

    def comment_ids(self) -> list[int]:
        out = mysql("SELECT comment_ID FROM wp_comments ORDER BY comment_ID", self.database)
        return [int(line) for line in out.split()]

    def meta(self, comment_id: int, key: str) -> str:
        return mysql(
            "SELECT meta_value FROM wp_commentmeta "
            f"WHERE comment_id = {int(comment_id)} AND meta_key = '{key}'",
            self.database,
        ).strip()

    def serve(self) -> None:
        log = open(self.root.parent / "php-server.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(self.root)],
            cwd=self.root,
            env={**os.environ, "PHP_CLI_SERVER_WORKERS": "4"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)

    def drop(self) -> None:
        self.stop()
        mysql(f"DROP DATABASE IF EXISTS `{self.database}`")

    def admin(self) -> Admin:
        session = Admin(self.url)
        session.login(ADMIN_USER, self.password)
        return session

    def visitor_comment(
        self, content: str, author: str, email: str, ip: str, url: str = "", post_id: int = 1
    ) -> int:
        """A visitor posts the comment form to wp-comments-post.php; the new comment's id."""
        answer = requests.post(
            f"{self.url}/wp-comments-post.php",
            data={
                "comment": content,
                "author": author,
                "email": email,
                "url": url,
                "comment_post_ID": str(post_id),
                "comment_parent": "0",
                "submit": "Post Comment",
            },
            headers={"X-Forwarded-For": ip, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 302, answer.text[:2000]
        found = re.search(r"#comment-(\d+)", answer.headers["Location"])
        assert found, answer.headers["Location"]
        return int(found.group(1))


class Admin(requests.Session):
    """A logged-in administrator's browser session, driving wp-admin over HTTP."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def login(self, user: str, password: str) -> None:
        self.get(f"{self.base}/wp-login.php", timeout=30)
        answer = self.post(
            f"{self.base}/wp-login.php",
            data={"log": user, "pwd": password, "wp-submit": "Log In", "testcookie": "1"},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 302 and "wp-admin" in answer.headers["Location"], answer.text

    def page(self, path: str) -> str:
        answer = self.get(f"{self.base}/wp-admin/{path}", timeout=30)
        assert answer.status_code == 200, answer.text[:2000]
        return answer.text

    def form(self, path: str, data: dict[str, str]) -> requests.Response:
        return self.post(f"{self.base}/wp-admin/{path}", data=data, timeout=60)

    def comment_action(self, comment_id: int, action: str) -> None:
        """Follow a row action link of the comment list (Approve, Spam, Not Spam, Trash): the
        link with its nonce, as the page renders it."""
        html = self.page("edit-comments.php?comment_status=all")
        html += self.page("edit-comments.php?comment_status=spam")
        amp = "&(?:amp;|#038;)?"
        pattern = rf"comment\.php\?c={comment_id}{amp}action={action}{amp}_wpnonce=(\w+)"
        found = re.search(pattern, html)
        assert found, f"no {action} link for comment {comment_id}"
        answer = self.get(
            f"{self.base}/wp-admin/comment.php",
            params={"c": comment_id, "action": action, "_wpnonce": found.group(1)},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text[:2000]


def hidden(html: str, name: str) -> str:
    """A hidden form field's value (nonces) from a wp-admin page."""
    found = re.search(rf'name=["\']{re.escape(name)}["\'][^>]*value=["\']([^"\']*)', html)
    if not found:
        found = re.search(rf'value=["\']([^"\']*)["\'][^>]*name=["\']{re.escape(name)}["\']', html)
    assert found, f"no field {name}"
    return found.group(1)
