"""The API's edges (interfaces.md): one error shape, 400 {"errors": {field: [reasons]}}, 401, 403,
404, 409, documented on every operation of the schema; input fields that refuse what a column
cannot hold; the schema and its docs for signed-in users only."""

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.urls import register_converter
from django.urls.converters import StringConverter
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.fields import empty
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from core.dates import parse_date
from core.errors import ApplicationError, OutOfScope, out_of_scope_record

# ISO 4217 currencies a payment can be made in (the list of 2024; the funds codes, precious metals,
# bond units, XDR, XSU, XUA, XTS and XXX are not money a premium arrives in)
CURRENCIES = frozenset("""
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
    CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP
    GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD
    KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK
    NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS
    SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST
    XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
""".split())
DEFAULT_CURRENCY = "CNY"

# NUMERIC(14,2): twelve digits before the point, two after
AMOUNT_MAX = Decimal("999999999999.99")
_AMOUNT_TEXT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")


class StrictCharField(serializers.CharField):
    """A JSON string and nothing else. DRF's CharField turns a number into its text, so 1e13 would
    pass where "1e13" is refused, and a float would reach the code as text of its binary value."""

    default_error_messages = {"invalid": _("A string is expected here.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$", "maxLength": 15,
                      "example": "300.00"})
class AmountField(StrictCharField):
    """Money as interfaces.md sends it: a string of digits with up to two decimals ("300.00"),
    greater than zero and within NUMERIC(14,2). NaN, Infinity, exponents, signs, spaces and
    non-ASCII digits are refused; the value never passes through float."""

    default_error_messages = {
        "amount": _('An amount in yuan with up to two decimals is expected, e.g. "300.00".'),
        "positive": _("The amount must be greater than 0."),
        "too_large": _("The amount must not exceed 999999999999.99."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)  # " 300.00" is not how an amount is written
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:  # type: ignore[override]  # a text field that answers a Decimal
        text = super().to_internal_value(data)
        if not _AMOUNT_TEXT.fullmatch(text):
            self.fail("amount")
        amount = Decimal(text)
        if amount <= 0:
            self.fail("positive")
        if amount > AMOUNT_MAX:
            self.fail("too_large")
        return amount

    def to_representation(self, value) -> str:
        return f"{value:.2f}"


class CurrencyField(serializers.ChoiceField):
    """An ISO 4217 code (upper case, three letters); CNY unless given."""

    default_error_messages = {"invalid_choice": _('"{input}" is not an ISO 4217 currency code.')}

    def __init__(self, **kwargs):
        kwargs.setdefault("default", DEFAULT_CURRENCY)
        super().__init__(choices=sorted(CURRENCIES), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=str(data)[:20])
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "format": "date-time", "example": "2026-11-28T23:30:00+08:00"})
class AwareDateTimeField(StrictCharField):
    """An ISO 8601 moment with its offset ("2026-11-28T23:30:00+08:00"), between 2000 and 2099: an
    impossible date (30 February, month 13) or a naive time is refused."""

    default_error_messages = {
        "datetime": _('An ISO 8601 date and time with an offset is expected, e.g. "2026-11-28T23:30:00+08:00".'),
        "naive": _("The time needs its offset from UTC, e.g. +08:00."),
        "range": _("The date must lie between 2000 and 2099."),
    }
    EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> dt.datetime:  # type: ignore[override]  # a text field that answers a datetime
        text = super().to_internal_value(data)
        try:
            if len(text) > 40:
                raise ValueError
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            self.fail("datetime")
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.fail("naive")
        # compared in UTC without converting first: year 1 at +14:00 would overflow a conversion
        if not self.EARLIEST <= moment < self.LATEST:
            self.fail("range")
        return moment

    def to_representation(self, value) -> str:
        return value.isoformat()


class InputSerializer(serializers.Serializer):
    """The base of API input serializers: the body must be a JSON object, and a text field takes a
    JSON string only (a number, boolean, object or list in its place is that field's 400)."""

    default_error_messages = {"not_an_object": _("A JSON object is expected.")}

    def run_validation(self, data=empty):
        if data is not empty and not isinstance(data, Mapping):  # null too, which DRF would call empty
            raise exceptions.ValidationError({"body": [self.error_messages["not_an_object"]]})
        return super().run_validation(data)

    def to_internal_value(self, data):
        wrong = {
            name: [StrictCharField.default_error_messages["invalid"]]
            for name, field in self.fields.items()
            if isinstance(field, serializers.CharField) and not field.read_only
            and data.get(name) is not None and not isinstance(data[name], str)
        }
        if wrong:
            raise exceptions.ValidationError(wrong)
        return super().to_internal_value(data)


class Pagination(PageNumberPagination):
    """DRF's page numbers, with a page that is not a number from 1 a 400 naming `page` (DRF answers
    404 for it); a page past the last stays a 404."""

    def get_page_number(self, request, paginator):
        text = request.query_params.get(self.page_query_param)
        if text and text not in self.last_page_strings and not (
                text.isascii() and text.isdigit() and len(text) <= 9 and int(text) >= 1):
            raise exceptions.ValidationError({self.page_query_param: [_("A page number from 1 is expected.")]})
        return super().get_page_number(request, paginator)


def _field_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's error detail, flattened to {field: [reasons]} (a nested field is "outer.inner", an item
    of a list "outer.0")."""
    if isinstance(detail, Mapping):
        errors: dict[str, list[str]] = {}
        for key, value in detail.items():
            errors.update(_field_errors(value, f"{prefix}.{key}" if prefix else str(key)))
        return errors
    if isinstance(detail, list) and any(isinstance(value, (Mapping, list)) for value in detail):
        errors = {}
        for index, value in enumerate(detail):
            errors.update(_field_errors(value, f"{prefix}.{index}" if prefix else str(index)))
        return errors
    values = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(value) for value in values]}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        errors = exc.errors or {"non_field_errors": [exc.message]}
        return Response({"errors": _field_errors(errors)}, status=exc.status)
    if isinstance(exc, OutOfScope):  # recorded here, after the service's transaction rolled back
        request = context.get("request")
        out_of_scope_record(exc, request_path=request.path if request is not None else "")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": _field_errors(response.data)}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, Mapping) else response.data
        response.data = {"errors": _field_errors(detail, "detail")}
    return response


class PolicyNumberConverter(StringConverter):
    """A policy number in an API address: any characters but "/" and NUL. PostgreSQL text cannot
    hold NUL, so no policy has one: such an address is the API's 404, never a database error."""

    regex = "[^/\x00]+"


register_converter(PolicyNumberConverter, "policy_no")


def query_text(request, name: str, *, max_length: int = 200) -> str:
    """A free-text query parameter ("" when absent): NUL (which PostgreSQL text cannot hold) or more
    than `max_length` characters is a 400 naming it."""
    value = request.query_params.get(name, "")
    if "\x00" in value:
        raise ApplicationError(_("Null characters are not allowed."), errors={name: [_("Null characters are not allowed.")]})
    if len(value) > max_length:
        message = _("At most %(limit)d characters.") % {"limit": max_length}
        raise ApplicationError(message, errors={name: [message]})
    return value


def query_date(request, name: str, *, default: dt.date) -> dt.date:
    """A YYYY-MM-DD query parameter: absent, the default; given, a real date or a 400 naming it
    (given empty too: `?on=` is not "today")."""
    if name not in request.query_params:
        return default
    try:
        return parse_date(request.query_params[name])
    except ValueError as exc:
        raise ApplicationError(str(exc), errors={name: [str(exc)]}) from None


@csrf_exempt  # it changes nothing: a POST to an address that names no operation is a 404, not a CSRF 403 page
def api_not_found(request, *args, **kwargs):
    """Any /api/ address that names no operation: the API's 404, in JSON, never the HTML page."""
    return JsonResponse({"errors": {"detail": [str(exceptions.NotFound.default_detail)]}},
                        status=status.HTTP_404_NOT_FOUND)


class _SignInForDocs(APIView):
    """The browsable docs ask a visitor without a session or token to sign in (the schema
    itself answers 401)."""

    def handle_exception(self, exc):
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)


def docs_view(view_class, **initkwargs):
    """drf-spectacular's docs view `view_class` (Swagger UI, Redoc), asking a visitor without a
    session or token to sign in. (Built here, not imported at the top: drf-spectacular's views load
    the REST framework settings, which load this module's pagination.)"""
    view: type[APIView] = type(view_class.__name__, (_SignInForDocs, view_class), {})
    return view.as_view(**initkwargs)


# --- the schema -----------------------------------------------------------------------------

ERROR_RESPONSES = {
    "400": "Bad input: each field named with its reasons.",
    "401": "No credentials, or credentials that are not valid.",
    "403": "Your role may not do this.",
    "404": "It does not exist, or lies outside your branches.",
    "409": "It conflicts with the current state (e.g. already decided).",
}
ERRORS_COMPONENT = {
    "type": "object",
    "description": 'The API\'s one error shape: {"errors": {field: [reasons]}}; "detail" carries a '
                   'reason that belongs to no field, "non_field_errors" one that belongs to several.',
    "properties": {
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["errors"],
}
_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def schema_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the error answers, all of the
    one shape, and a required query parameter may not be empty."""
    result.setdefault("components", {}).setdefault("schemas", {})["Errors"] = ERRORS_COMPONENT
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_RESPONSES.items():
                responses.setdefault(code, {"description": description, "content": reference})
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and parameter.get("required") and schema.get("type") == "string":
                    schema.setdefault("minLength", 1)
    return result
