"""Schemathesis hooks for scripts/api-contract.sh.

The OpenAPI document gives every field and parameter its exact bounds; a
few rules relate two values, or a value and the clock, and JSON Schema
cannot say those (the document says them in words). This hook drops the
generated positive requests that break one of these rules, so that
`positive_data_acceptance` holds the API to everything else. Each rule here
is one the handlers enforce with a 422 naming the field:

- POST /products without a slug: the name must give one (2 letters or digits);
- POST /customers: the password must not contain the e-mail address, nor its
  part before the `@` when that has 4 characters or more;
- POST /entitlements: `ends_at` after `starts_at` (default: now);
- PATCH /entitlements/{id}: `ends_at` after `starts_at` when both are sent;
  `suspended_reason` only with `status: suspended`;
- POST /customers/{id}/credentials: `expires_at` in the future;
- POST /requests/{id}/answer: `grant` needs `days`, `reply` needs words;
- GET /audit: `to` after `from`.

Negative requests are left alone.

It also turns off Hypothesis' targeted phase (`Phase.target`): schemathesis
steers fuzzing towards inputs an operation accepts with `hypothesis.target`,
and the optimiser of the pinned Hypothesis (6.170.x) now and then fails
inside itself (`IndexError` in `optimiser.attempt_replace`), which ends an
operation's run with a "Runtime Error" that says nothing about the API.
Generation, shrinking and every check are unchanged.
"""

from __future__ import annotations

import datetime as dt
import re

import hypothesis
import schemathesis
from schemathesis.config._projects import ProjectConfig

UTC = dt.timezone.utc

_settings = ProjectConfig.get_hypothesis_settings


def _without_target(self, **kwargs):
    s = _settings(self, **kwargs)
    return hypothesis.settings(s, phases=[p for p in s.phases if p is not hypothesis.Phase.target])


ProjectConfig.get_hypothesis_settings = _without_target


def _time(raw, bare: str):
    """A time as domain::time::parse_time reads it; `bare` is what a day means."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    raw = raw.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        day = dt.datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
        return {"start": day, "last": day + dt.timedelta(seconds=86399), "next": day + dt.timedelta(days=1)}[bare]
    # Python reads RFC 3339 (with `Z`) since 3.11; fractions past 6 digits are not generated.
    return dt.datetime.fromisoformat(raw.replace("z", "Z"))


def _positive(case) -> bool:
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return mode is None or getattr(mode, "is_positive", True)


def _body(case) -> dict:
    return case.body if isinstance(case.body, dict) else {}


def _slug_from_name(body: dict) -> bool:
    slug = body.get("slug")
    if isinstance(slug, str) and slug.strip():
        return True
    name = body.get("name") if isinstance(body.get("name"), str) else ""
    return sum(c.isascii() and c.isalnum() for c in name.lower()) >= 2


def _password_apart_from_email(body: dict) -> bool:
    password, email = body.get("password"), body.get("email")
    if not isinstance(password, str) or not password or not isinstance(email, str):
        return True
    email = email.strip().lower()
    local = email.split("@")[0]
    lower = password.lower()
    return not (email and (email in lower or (len(local) >= 4 and local in lower)))


def _ordered(start, end) -> bool:
    return start is None or end is None or end > start


@schemathesis.hook
def filter_case(context, case) -> bool:
    if not _positive(case):
        return True
    method, path = case.operation.method.upper(), case.operation.path
    body = _body(case)
    now = dt.datetime.now(UTC)
    try:
        if (method, path) == ("POST", "/api/v1/products"):
            return _slug_from_name(body)
        if (method, path) == ("POST", "/api/v1/customers"):
            return _password_apart_from_email(body)
        if (method, path) == ("POST", "/api/v1/entitlements"):
            start = _time(body.get("starts_at"), "start") or now
            return _ordered(start, _time(body.get("ends_at"), "start"))
        if (method, path) == ("PATCH", "/api/v1/entitlements/{id}"):
            if body.get("suspended_reason") is not None and body.get("status") != "suspended":
                return False
            return _ordered(_time(body.get("starts_at"), "start"), _time(body.get("ends_at"), "start"))
        if (method, path) == ("POST", "/api/v1/customers/{id}/credentials"):
            # A minute of margin: the request is sent a moment after this check.
            return _ordered(now + dt.timedelta(minutes=1), _time(body.get("expires_at"), "last"))
        if (method, path) == ("POST", "/api/v1/requests/{id}/answer"):
            if body.get("action") == "grant":
                return body.get("days") is not None
            reply = body.get("reply")
            return isinstance(reply, str) and bool(reply.strip())
        if (method, path) == ("GET", "/api/v1/audit"):
            query = case.query or {}
            return _ordered(_time(query.get("from"), "start"), _time(query.get("to"), "next"))
    except (ValueError, OverflowError):
        # Not a time Python reads: let the server judge it.
        return True
    return True
