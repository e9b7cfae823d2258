"""URLs of the CAR-T safety pages (CRS and ICANS episodes, adverse events), included at the
site's root by trialsite.urls."""

from django.urls import path

from safety import views

# Entry pages of CRS and ICANS episodes (safety.views); confirming a grade takes a POST.
urlpatterns = [
    path("participants/<int:pk>/crs/new/", views.crs_episode_create, name="crs_episode_create"),
    path("crs/<int:pk>/", views.crs_episode_detail, name="crs_episode_detail"),
    path("crs/<int:pk>/edit/", views.crs_episode_edit, name="crs_episode_edit"),
    path("crs/<int:pk>/confirm/", views.crs_episode_confirm, name="crs_episode_confirm"),
    path(
        "participants/<int:pk>/icans/new/",
        views.icans_episode_create,
        name="icans_episode_create",
    ),
    path("icans/<int:pk>/", views.icans_episode_detail, name="icans_episode_detail"),
    path("icans/<int:pk>/edit/", views.icans_episode_edit, name="icans_episode_edit"),
    path("icans/<int:pk>/confirm/", views.icans_episode_confirm, name="icans_episode_confirm"),
    # Adverse events (safety.views); acknowledging a serious one takes a POST.
    path(
        "participants/<int:pk>/adverse-events/new/",
        views.adverse_event_create,
        name="adverse_event_create",
    ),
    path("adverse-events/<int:pk>/", views.adverse_event_detail, name="adverse_event_detail"),
    path("adverse-events/<int:pk>/edit/", views.adverse_event_edit, name="adverse_event_edit"),
    path(
        "adverse-events/<int:pk>/acknowledge/",
        views.adverse_event_acknowledge,
        name="adverse_event_acknowledge",
    ),
    # The participant's CAR-T treatment record (one per participant).
    path(
        "participants/<int:pk>/treatment/new/",
        views.treatment_record_create,
        name="treatment_record_create",
    ),
    path(
        "participants/<int:pk>/treatment/edit/",
        views.treatment_record_edit,
        name="treatment_record_edit",
    ),
]
