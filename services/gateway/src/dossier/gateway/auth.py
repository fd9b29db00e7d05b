"""Signing in and out, and a student's one-time activation link."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dossier.gateway.accounts import SignInRefused, WeakPassword
from dossier.gateway.web import checked_form, gateway, redirect, render, sign_in, text


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
    try:
        account = gateway(request).accounts.authenticate(
            text(form, "login"), str(form.get("password") or "")
        )
    except SignInRefused as refused:
        status = 429 if refused.reason == "locked" else 401
        return render(request, "signin.html", status_code=status, error=f"signin.{refused.reason}")
    sign_in(request, account)
    return redirect(_next(request, _landing(account.is_student)))


async def signout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
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
