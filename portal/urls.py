"""Portal URLs on a commune's host (namespace ``portal``)."""

from portal.urls_agent import urlpatterns as agent_urls
from portal.urls_parent import urlpatterns as parent_urls

app_name = "portal"
urlpatterns = [*parent_urls, *agent_urls]
