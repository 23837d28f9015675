from accounts.impersonation import impersonated_client
from accounts.models import ClientUser
from accounts.rights import ClientContext


class ClientAreaMiddleware:
    """Sets ``request.client_context``: whose client area this is, and who acts in it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.client_context = client_context_for(request)
        return self.get_response(request)


def client_context_for(request) -> ClientContext | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if user.is_staff:
        client = impersonated_client(request)
        if client is None:
            return None
        return ClientContext(client=client, user=user, impersonator=user)
    membership = (
        ClientUser.objects.select_related("client__provider").filter(user=user).first()
    )
    if membership is None:
        return None
    return ClientContext(client=membership.client, user=user, membership=membership)
