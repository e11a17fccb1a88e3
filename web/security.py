"""CSRF on every form, rate limits for anonymous use, and protective response headers.

The API under /api/v1 takes bearer tokens and no cookies, so it is exempt from CSRF.
Rate limits use the `limits` library with one storage per app (in memory by default,
`RATELIMIT_STORAGE_URI` for a shared one), keyed by client address and limit name.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

csrf = CSRFProtect()

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")


class SessionInterface(SecureCookieSessionInterface):
    """`SESSION_COOKIE_SECURE = "auto"`: Secure whenever the request came over HTTPS.

    Behind a TLS-terminating proxy set `PROXY_FIX` to the number of proxies so that
    X-Forwarded-Proto counts; `True` or `False` force the flag either way.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        setting = app.config["SESSION_COOKIE_SECURE"]
        if setting == "auto":
            return has_request_context() and request.is_secure
        return bool(setting)


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_host=hops)
    csrf.init_app(app)
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["govflow_limiter"] = MovingWindowRateLimiter(storage)
    app.after_request(_headers)


def rate_limit(name: str) -> None:
    """Count one use of the limit `name` (a config key) by this client; 429 when over."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    limiter: MovingWindowRateLimiter = current_app.extensions["govflow_limiter"]
    who = request.remote_addr or "unknown"
    for item in parse_many(current_app.config[name]):
        if not limiter.hit(item, name, who):
            raise TooManyRequests(f"too many requests: at most {item}")


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith(("/tasks", "/cases", "/inbox", "/account", "/portal/track",
                                "/api/")):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
