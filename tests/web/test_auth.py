"""Sign-in, sign-out, sessions and CSRF."""

from __future__ import annotations

from engine.people import directory
from tests.web.conftest import csrf_token


def set_password(wgf, username: str, password: str) -> None:
    with wgf.db.write() as conn:
        groups = sorted(directory.groups_of(conn, username))
        directory.add_user(conn, username, username.title(), password=password,
                           groups_=groups, now=wgf.now())


def test_signing_in_with_the_right_password_opens_the_inbox(client, wgf) -> None:
    set_password(wgf, "alice", "correct horse")
    response = client.post("/auth/login", data={"username": "alice", "password": "correct horse"})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"
    assert "审核" in client.get("/inbox").get_data(as_text=True) or client.get(
        "/inbox").status_code == 200


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, wgf) -> None:
    set_password(wgf, "alice", "correct horse")
    for user, password in (("alice", "wrong"), ("nobody", "correct horse")):
        page = client.post("/auth/login", data={"username": user, "password": password})
        assert page.status_code == 200
        assert "用户名或密码错误" in page.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302


def test_pages_for_staff_send_anonymous_visitors_to_sign_in(client) -> None:
    for path in ("/inbox", "/cases", "/cases/1", "/account/tokens"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login?next=")


def test_sign_in_only_redirects_to_paths_on_this_site(client, wgf) -> None:
    set_password(wgf, "alice", "pw-alice")
    response = client.post("/auth/login?next=//evil.example/x",
                           data={"username": "alice", "password": "pw-alice"})
    assert response.headers["Location"] == "/inbox"


def test_the_session_cookie_is_http_only_same_site_and_secure_over_https(client, wgf) -> None:
    set_password(wgf, "alice", "pw-alice")
    form = {"username": "alice", "password": "pw-alice"}
    cookie = client.post("/auth/login", data=form, base_url="https://gov.example"
                         ).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    plain = client.post("/auth/login", data=form).headers["Set-Cookie"]   # a local trial
    assert "HttpOnly" in plain and "Secure" not in plain


def test_behind_a_tls_proxy_the_forwarded_scheme_makes_the_cookie_secure(wgf, tmp_path) -> None:
    from tests.web.conftest import make_app
    set_password(wgf, "alice", "pw-alice")
    client = make_app(wgf, tmp_path, PROXY_FIX=1).test_client()
    cookie = client.post("/auth/login", data={"username": "alice", "password": "pw-alice"},
                         headers={"X-Forwarded-Proto": "https"}).headers["Set-Cookie"]
    assert "Secure" in cookie


def test_signing_out_ends_the_session(client, auth) -> None:
    auth.login("alice")
    assert client.get("/inbox").status_code == 200
    client.post("/auth/logout")
    assert client.get("/inbox").status_code == 302


def test_every_form_needs_the_csrf_token(csrf_app, wgf) -> None:
    set_password(wgf, "alice", "pw-alice")
    client = csrf_app.test_client()
    refused = client.post("/auth/login", data={"username": "alice", "password": "pw-alice"})
    assert refused.status_code == 400
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    accepted = client.post("/auth/login", data={"username": "alice", "password": "pw-alice",
                                                "csrf_token": token})
    assert accepted.status_code == 302
    assert client.post("/auth/logout").status_code == 400
    token = csrf_token(client.get("/inbox").get_data(as_text=True))
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302


def test_sign_in_is_rate_limited(wgf, tmp_path) -> None:
    from tests.web.conftest import make_app
    client = make_app(wgf, tmp_path, RATELIMIT_ENABLED=True,
                      SIGN_IN_LIMIT="3 per minute").test_client()
    codes = [client.post("/auth/login", data={"username": "x", "password": "y"}).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
