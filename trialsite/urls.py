from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

from jobs.urls import export_urlpatterns, schedule_change_urlpatterns
from trialsite import query_views, sign_off_views, views

admin.site.site_header = _("Pediatric SLE CAR-T trial: administration")
admin.site.site_title = _("Trial administration")

urlpatterns = [
    path("", views.home, name="home"),
    path("participants/", views.participant_list, name="participant_list"),
    path("participants/new/", views.participant_create, name="participant_create"),
    path("participants/<int:pk>/", views.participant_detail, name="participant_detail"),
    path("participants/<int:pk>/changes/", views.participant_changes, name="participant_changes"),
    path("participants/<int:pk>/edit/", views.participant_edit, name="participant_edit"),
    path("participants/<int:pk>/visits/new/", views.visit_create, name="visit_create"),
    path(
        "participants/<int:pk>/missed/new/", views.missed_visit_create, name="missed_visit_create"
    ),
    path("visits/due/", views.visits_due, name="visits_due"),
    path(
        "visits/out-of-window/",
        views.visit_list,
        {"kind": "out_of_window"},
        name="visits_out_of_window",
    ),
    path(
        "visits/in-progress/", views.visit_list, {"kind": "in_progress"}, name="visits_in_progress"
    ),
    path("visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:pk>/entry/", views.visit_entry, name="visit_entry"),
    path("visits/<int:pk>/edit/", views.visit_edit, name="visit_edit"),
    path("visits/<int:pk>/verify/", views.visit_verify, name="visit_verify"),
    path("visits/<int:pk>/sign/", views.visit_sign, name="visit_sign"),
    path("visits/<int:pk>/lock/", views.visit_lock, name="visit_lock"),
    path("visits/<int:pk>/unlock/", views.visit_unlock, name="visit_unlock"),
    path("status/", views.record_status, name="record_status"),
    path("visits/<int:pk>/queries/new/", query_views.query_raise, name="query_raise"),
    path(
        "records/<str:kind>/<int:pk>/queries/new/",
        query_views.query_raise_on_record,
        name="query_raise_on_record",
    ),
    path(
        "records/<str:kind>/<int:pk>/sign-offs/<str:step>/",
        sign_off_views.record_sign_off,
        name="record_sign_off",
    ),
    path("queries/", query_views.query_list, name="query_list"),
    path("queries/<int:pk>/", query_views.query_detail, name="query_detail"),
    path("queries/<int:pk>/answer/", query_views.query_answer, name="query_answer"),
    path("queries/<int:pk>/close/", query_views.query_close, name="query_close"),
    path("queries/<int:pk>/reopen/", query_views.query_reopen, name="query_reopen"),
    path("lab-suggestions/", views.lab_suggestions, name="lab_suggestions"),
    path("reports/", include("responses.urls")),
    path("", include("safety.urls")),
    path("", include("medications.urls")),
    path("imports/", include("jobs.urls")),
    path("schedule-changes/", include(schedule_change_urlpatterns)),
    path("exports/", include(export_urlpatterns)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("trialsite.two_factor.urls")),
    # The language is chosen on the login page too, before anyone has logged in.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
]
