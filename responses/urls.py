from django.urls import path

from responses import views

urlpatterns = [
    path("", views.cohort_summary, name="cohort_summary"),
    path("matrix/", views.report_matrix, name="report_matrix"),
    path("baseline/", views.report_baseline, name="report_baseline"),
    path("plots/", views.report_plots, name="report_plots"),
]
