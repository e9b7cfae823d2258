from django.urls import path

from jobs import views

urlpatterns = [
    path("", views.import_job_list, name="import_job_list"),
    path("new/", views.import_job_create, name="import_job_create"),
    path("<int:pk>/", views.import_job_detail, name="import_job_detail"),
    path("<int:pk>/progress/", views.import_job_progress, name="import_job_progress"),
    path("<int:pk>/confirm/", views.import_job_confirm, name="import_job_confirm"),
    path("<int:pk>/result.csv", views.import_job_result, name="import_job_result"),
]

#: The pages of schedule changes made in admin (trialsite.urls mounts them apart from imports).
schedule_change_urlpatterns = [
    path("<int:pk>/", views.schedule_change_detail, name="schedule_change_detail"),
    path("<int:pk>/progress/", views.schedule_change_progress, name="schedule_change_progress"),
]

#: An export's pages, for the user who asked for it (trialsite.urls mounts them under exports/).
export_urlpatterns = [
    path("", views.export_job_list, name="export_job_list"),
    path("new/", views.export_job_create, name="export_job_create"),
    path("<int:pk>/", views.export_job_detail, name="export_job_detail"),
    path("<int:pk>/progress/", views.export_job_progress, name="export_job_progress"),
    path("<int:pk>/download/", views.export_job_download, name="export_job_download"),
]
