"""The README's screenshot of the moderator page.

    python -m tests.browser.screenshot [PNG] [--dark] [--detail]

Starts the API under gunicorn on a scratch SQLite installation, stores a few held comments,
signs in with Chromium and photographs the queue.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from service import create_app
from service.config import Settings
from service.db import session_scope
from service.migrate import upgrade
from service.moderators import create_moderator
from service.sites import create_site
from tests.browser.support import launch, store_held
from tests.conftest import REPO, _port_open, free_port, stop_process, wait_for

POST = {
    "post_title": "Why the 2003 invasion still shapes Iraq",
    "post_url": "https://blog.example/iraq",
}
DEMO = [
    {
        "external_id": "wp-1042",
        "author": "Best Deals 4U",
        "email": "deals@mail.example",
        "content": "Great post!! Visit http://cheap-pills.example for CHEAP viagra and cialis, "
        "fast shipping, no prescription needed.",
        "spam": 0.97,
        "toxicity": 0.03,
        "terms": {"spam": ["cheap", "viagra", "no prescription", "link:cheap-pills.example"]},
        **POST,
    },
    {
        "external_id": "wp-1043",
        "author": "Ray",
        "email": "ray@example.org",
        "content": "Anyone who still defends this war is a complete idiot. "
        "Shut up and read a book.",
        "spam": 0.04,
        "toxicity": 0.86,
        "terms": {"toxicity": ["idiot", "shut up"]},
        **POST,
    },
    {
        "external_id": "wp-1047",
        "author": "Mira K.",
        "email": "mira@example.net",
        "content": "I lived in Basra until 2006. The piece gets the electricity shortages right, "
        "but see http://basra-archive.example and http://iraq-oral-history.example "
        "and http://maps.example for what daily life was like.",
        "spam": 0.58,
        "toxicity": 0.02,
        "terms": {"spam": ["link:basra-archive.example", "see"]},
        **POST,
    },
    {
        "external_id": "wp-1051",
        "author": "h4x",
        "content": "<script>alert('hi')</script> earn $500 a day from home, click here",
        "spam": 0.91,
        "toxicity": 0.05,
        "terms": {"spam": ["earn", "from home", "click here"]},
        **POST,
    },
]


def main(out: Path, dark: bool = False, detail: bool = False) -> None:
    home = Path(tempfile.mkdtemp(prefix="commentgate-shot-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTGATE_")}
    env.update(
        COMMENTGATE_HOME=str(home),
        COMMENTGATE_RATE_LIMITS="off",
        COMMENTGATE_SECURE_COOKIES="false",
    )
    settings = Settings.from_env(env)
    app = create_app(settings)
    state = app.extensions["commentgate"]
    upgrade(state.engine)
    with session_scope(state.sessions) as session:
        site = create_site(session, "politics-blog", "http://127.0.0.1:9/hook", allow_private=True)
        token = create_moderator(session, site.site, "ana@blog.example", "moderator").token
        store_held(session, site.site.id, DEMO)
    state.engine.dispose()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "1"],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )
    try:
        wait_for(lambda: _port_open(port), 30)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(
                viewport={"width": 1280, "height": 940}, color_scheme="dark" if dark else "light"
            )
            page.goto(f"http://127.0.0.1:{port}/moderate")
            page.fill("#token", token)
            page.click("button[type=submit]")
            page.wait_for_selector(".item.current")
            page.keyboard.press("j")
            page.keyboard.press("x")
            if detail:
                page.keyboard.press("o")
                page.wait_for_selector(".timeline, .detail")
            page.wait_for_timeout(400)
            page.screenshot(path=str(out))
            browser.close()
    finally:
        stop_process(server)


if __name__ == "__main__":
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(
        Path(paths[0] if paths else "docs/moderate.png").resolve(),
        dark="--dark" in sys.argv,
        detail="--detail" in sys.argv,
    )
