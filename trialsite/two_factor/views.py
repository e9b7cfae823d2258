"""The code page (after the password), the set-up page and the account security page."""

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from trialsite.http import AuthenticatedHttpRequest
from trialsite.two_factor.devices import (
    confirmed_device,
    device_setup_start,
    has_confirmed_device,
    pending_device,
    secret_key_text,
)
from trialsite.two_factor.forms import CodeForm, SetupCodeForm
from trialsite.two_factor.policy import second_factor_required, session_verified


def safe_next(request: AuthenticatedHttpRequest) -> str:
    """Return the page asked for (``next``), or "" unless it is a page of this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def next_url(request: AuthenticatedHttpRequest) -> str:
    """Return where to go once the second factor is passed: ``next``, or Home."""
    return safe_next(request) or resolve_url(settings.LOGIN_REDIRECT_URL)


def second_factor_passed(request: AuthenticatedHttpRequest, device: TOTPDevice) -> None:
    """Mark the session as having passed the second factor with this device."""
    otp_login(request, device)
    # A new session id once the second factor is passed, as Django gives one at login.
    request.session.cycle_key()


def qr_code_svg(device: TOTPDevice) -> SafeString:
    """Return the device's key as a QR code for an authenticator app to scan, as inline SVG."""
    qr_code = segno.make(device.config_url, error="m")
    # segno writes only the QR code's path data and the escaped title: safe to inline.
    return mark_safe(
        qr_code.svg_inline(
            border=2,
            omitsize=True,  # a viewBox: the stylesheet sets its size
            svgclass="two-factor-qr",
            title=_("QR code for your authenticator app"),
        )
    )


def two_factor_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Ask for the code from the user's authenticator app, then go on to the page asked for."""
    device = confirmed_device(request.user)
    if device is None or session_verified(request.user):
        return redirect(next_url(request))
    form = CodeForm(request.POST if request.method == "POST" else None, device=device)
    if form.is_valid():
        second_factor_passed(request, device)
        return redirect(next_url(request))
    return render(
        request, "registration/two_factor_verify.html", {"form": form, "next": safe_next(request)}
    )


def two_factor_setup(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Show a new key (QR code and text) for an authenticator app, and confirm it with the first
    code the app shows. A user who has an app already must pass it first; the new one then
    replaces it."""
    user = request.user
    verified = session_verified(user)
    if not verified and has_confirmed_device(user):
        return redirect_to_login(request.get_full_path(), "two_factor_verify")
    if request.method == "POST":
        device = pending_device(user)
        if device is None:  # set up meanwhile in another tab, or reset by an administrator
            return redirect(next_url(request) if verified else request.get_full_path())
        form = SetupCodeForm(request.POST, device=device)
    else:
        device = device_setup_start(user=user)
        form = SetupCodeForm(None, device=device)
    if form.is_valid():
        second_factor_passed(request, device)
        messages.success(
            request,
            _("Your authenticator app is set up: after your password, the site asks for its code."),
        )
        return redirect(next_url(request))
    context = {
        "form": form,
        "next": safe_next(request),
        "qr_code": qr_code_svg(device),
        "secret_key": secret_key_text(device),
        "required": second_factor_required(user),
        "replacing": verified,
    }
    return render(request, "registration/two_factor_setup.html", context)


def account_security(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Show whether the user has a second factor, and link to setting one up or replacing it."""
    context = {
        "device": confirmed_device(request.user),
        "required": second_factor_required(request.user),
    }
    return render(request, "registration/account_security.html", context)
