from django.conf import settings

from accounts.rights import Area


def client_area(request):
    """The client context and the names of the areas, for the layout and its menu."""
    return {
        "client_context": getattr(request, "client_context", None),
        "areas": Area,
        "site_name": settings.SITE_NAME,
    }
