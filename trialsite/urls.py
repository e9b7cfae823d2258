from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from trialsite import views

admin.site.site_header = _("Pediatric SLE CAR-T trial: administration")
admin.site.site_title = _("Trial administration")

urlpatterns = [
    path("", views.home, name="home"),
    path("participants/", views.participant_list, name="participant_list"),
    path("participants/new/", views.participant_create, name="participant_create"),
    path("participants/<int:pk>/", views.participant_detail, name="participant_detail"),
    path("participants/<int:pk>/edit/", views.participant_edit, name="participant_edit"),
    path("participants/<int:pk>/visits/new/", views.visit_create, name="visit_create"),
    path(
        "participants/<int:pk>/missed/new/", views.missed_visit_create, name="missed_visit_create"
    ),
    path("visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:pk>/entry/", views.visit_entry, name="visit_entry"),
    path("visits/<int:pk>/edit/", views.visit_edit, name="visit_edit"),
    path("lab-suggestions/", views.lab_suggestions, name="lab_suggestions"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("reports/", include("responses.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
