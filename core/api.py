"""The API's error shape (interfaces.md): 400 {"errors": ...}, 401, 403, 404."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ApplicationError


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        errors = exc.errors or {"non_field_errors": [exc.message]}
        return Response({"errors": errors}, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if response.status_code == status.HTTP_400_BAD_REQUEST:
        response.data = {"errors": response.data}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"errors": {"detail": [str(response.data["detail"])]}}
    return response
