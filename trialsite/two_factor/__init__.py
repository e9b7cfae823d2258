"""The second factor: a six-digit code from an authenticator app (TOTP, django-otp).

``policy`` says who must use one, ``devices`` sets up and checks a user's authenticator app,
``middleware`` asks for the code after the password, and ``views`` are the code, set-up and
account security pages.
"""
