"""The second factor's pages, under /accounts/ beside login and logout."""

from django.urls import path

from trialsite.two_factor import views

urlpatterns = [
    path("two-factor/", views.two_factor_verify, name="two_factor_verify"),
    path("two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("security/", views.account_security, name="account_security"),
]
