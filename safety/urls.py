"""URLs of the CAR-T safety pages, included at the site's root by trialsite.urls."""

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
]
