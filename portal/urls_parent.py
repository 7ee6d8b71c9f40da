from django.urls import path

from portal.views import parent

urlpatterns = [
    path("famille/", parent.parent_home, name="parent_home"),
]
