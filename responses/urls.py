from django.urls import path

from responses import views

urlpatterns = [
    path("", views.cohort_summary, name="cohort_summary"),
]
