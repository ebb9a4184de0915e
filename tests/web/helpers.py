"""Signing in to the dashboard as a browser does: the form's hidden CSRF token, then the
session cookie."""

import re
from typing import Any

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def form_csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def web_login(client: Any, username: str, password: str, next: str = "/web/") -> Any:
    """Sign in through the form; the client then holds the session cookie. Returns the
    sign-in answer (a 303 to `next` when it worked)."""
    page = client.get("/web/login")
    assert page.status_code == 200, page.text
    return client.post(
        "/web/login",
        data={
            "username": username,
            "password": password,
            "csrf": form_csrf(page.text),
            "next": next,
        },
        follow_redirects=False,
    )


def build_web_demo(url: str) -> Any:
    """The small demo country with returns for both years (v2), so every page has figures."""
    from app.core.db import make_engine
    from app.core.uow import Database
    from app.demo.generator import DemoSpec, build_demo

    engine = make_engine(url)
    try:
        return build_demo(Database(engine), DemoSpec(schools=120, seed=7, returns=True))
    finally:
        engine.dispose()
