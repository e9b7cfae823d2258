from django.urls import path

from responses import views
from safety import report_views as safety_report_views

urlpatterns = [
    path("", views.cohort_summary, name="cohort_summary"),
    path("matrix/", views.report_matrix, name="report_matrix"),
    path("baseline/", views.report_baseline, name="report_baseline"),
    path("plots/", views.report_plots, name="report_plots"),
    path("safety/", safety_report_views.safety_report, name="report_safety"),
]
