"""URLs of the medication pages, included at the site's root by trialsite.urls."""

from django.urls import path

from medications import views

# Recording and changing a course (medications.views); answering a proposed treatment-failure
# date takes a POST.
urlpatterns = [
    path(
        "participants/<int:pk>/medications/new/",
        views.medication_course_create,
        name="medication_course_create",
    ),
    path("medications/<int:pk>/edit/", views.medication_course_edit, name="medication_course_edit"),
    path(
        "medications/<int:pk>/confirm-failure/",
        views.medication_failure_confirm,
        name="medication_failure_confirm",
    ),
    path(
        "medications/<int:pk>/dismiss-failure/",
        views.medication_failure_dismiss,
        name="medication_failure_dismiss",
    ),
]
