"""The claims pages. Views parse the request, call a service, and choose a page or a fragment;
the rules live in the services, the wizard and the lifecycle."""
from portal.claims.views import claim, files, lists, wizard  # noqa: F401  (each adds its routes)
from portal.claims.views.blueprint import bp

__all__ = ["bp"]
