from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def healthz(request: HttpRequest) -> HttpResponse:
    """For the bench's readiness poll only; the peer itself has no health endpoint."""
    return HttpResponse(b'{"status":"ok"}', content_type="application/json")


# phone_verify's router gives POST api/phone/register and POST api/phone/verify.
urlpatterns = [
    path("api/", include("phone_verify.urls")),
    path("healthz", healthz),
]
