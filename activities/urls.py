from django.urls import path

app_name = "activities"

urlpatterns: list = [path("activities/", lambda request: None, name="activity_list")]
