"""Signing in and out, and a student's one-time activation link.

A refused sign-in answers the same — status 401 and one message — whether the login is
unknown, the password wrong or the account locked, so nobody learns which logins exist.
Refused sign-ins are also counted per client address (`limits.RateLimiter`, in this
process's memory): past the limit the address is answered 429 for a while, whatever login
it tries. Signing out ends every session of the account on the server.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.gateway.accounts import SignInRefused, WeakPassword
from dossier.gateway.limits import client_address, say
from dossier.gateway.web import (
    checked_form,
    gateway,
    locale_of,
    redirect,
    render,
    sign_in,
    sign_out,
    text,
)


def _next(request: Request, fallback: str) -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    target = request.query_params.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else fallback


def _landing(is_student: bool) -> str:
    return "/me" if is_student else "/staff"


async def signin_form(request: Request) -> Response:
    return render(request, "signin.html", error=None)


async def signin(request: Request) -> Response:
    form = await checked_form(request)
    state = gateway(request)
    address = client_address(request)
    if state.signins.exceeded(address):
        page = render(
            request,
            "signin.html",
            status_code=429,
            error_text=say("limits.too_many", locale_of(request)),
        )
        page.headers["retry-after"] = str(state.signins.retry_after(address))
        return page
    try:
        account = state.accounts.authenticate(text(form, "login"), str(form.get("password") or ""))
    except SignInRefused:  # unknown, wrong or locked: one answer
        state.signins.hit(address)
        return render(
            request,
            "signin.html",
            status_code=401,
            error_text=say("signin.refused", locale_of(request)),
        )
    sign_in(request, account)
    return redirect(_next(request, _landing(account.is_student)))


async def signout(request: Request) -> Response:
    await checked_form(request)
    sign_out(request)
    return redirect("/")


async def activation_form(request: Request) -> Response:
    return render(request, "activate.html", code=request.path_params["code"], error=None)


async def activate(request: Request) -> Response:
    form = await checked_form(request)
    code = request.path_params["code"]
    try:
        account = gateway(request).accounts.activate(code, str(form.get("password") or ""))
    except WeakPassword:
        return render(request, "activate.html", status_code=400, code=code, error="activate.weak")
    except SignInRefused:
        return render(
            request, "activate.html", status_code=400, code=code, error="activate.invalid"
        )
    sign_in(request, account)
    return redirect(_landing(account.is_student))


routes = [
    Route("/signin", signin_form, methods=["GET"]),
    Route("/signin", signin, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
    Route("/activate/{code}", activation_form, methods=["GET"]),
    Route("/activate/{code}", activate, methods=["POST"]),
]
