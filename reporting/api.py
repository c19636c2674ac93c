import datetime as dt

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import query_date, query_text
from core.errors import ApplicationError
from policies.api.permissions import HasCapability
from reporting.selectors import BY_CHOICES, KPIS, kpi_json, kpi_table
from reporting.selectors_targets import target_json, target_rows

FigureSerializer = inline_serializer("KpiFigure", {
    "numerator": serializers.CharField(), "denominator": serializers.CharField(),
    "rate": serializers.CharField(allow_null=True)})
KpiRowSerializer = inline_serializer("KpiRow", many=True, fields={
    "slice": serializers.DictField(child=serializers.CharField()), "from": serializers.DateField(),
    "to": serializers.DateField(), "data_as_of": serializers.DateField(allow_null=True),
    **{name: FigureSerializer for name in KPIS}})


class KpiApi(APIView):
    """The KPIs of a period, one object per slice, within the caller's branches: the same list as
    `manage.py kpi --json` (issue 15)."""

    permission_classes = [HasCapability]
    capabilities = {"GET": "view_reports"}

    @extend_schema(parameters=[
        OpenApiParameter("from", OpenApiTypes.DATE, required=True, description="first day, YYYY-MM-DD"),
        OpenApiParameter("to", OpenApiTypes.DATE, required=True, description="last day, YYYY-MM-DD"),
        OpenApiParameter("by", OpenApiTypes.STR, enum=list(BY_CHOICES), description="one object per slice"),
    ], responses=KpiRowSerializer)
    def get(self, request):
        errors = {name: [_("required")] for name in ("from", "to") if name not in request.query_params}
        if errors:
            raise ApplicationError(_("from and to are required"), errors=errors)
        date_from = query_date(request, "from", default=dt.date.min)  # both present: checked above
        date_to = query_date(request, "to", default=dt.date.min)
        by = query_text(request, "by", max_length=20) or None
        if by is not None and by not in BY_CHOICES:
            raise ApplicationError(_("unknown slice"), errors={"by": [_("one of %(choices)s") % {
                "choices": ", ".join(BY_CHOICES)}]})
        if date_to < date_from:
            raise ApplicationError(_("to is before from"), errors={"to": [_("before from")]})
        return Response(kpi_json(kpi_table(date_from=date_from, date_to=date_to, by=by, user=request.user)))


TargetRowSerializer = inline_serializer("KpiTargetRow", many=True, fields={
    "branch": serializers.CharField(), "metric": serializers.CharField(), "period": serializers.CharField(),
    "period_from": serializers.DateField(), "period_to": serializers.DateField(), "target": serializers.CharField(),
    "actual": FigureSerializer, "gap_points": serializers.CharField(allow_null=True),
    "met": serializers.BooleanField(allow_null=True)})


class KpiTargetApi(APIView):
    """The branch targets covering a period, each against its actual, within the caller's
    branches: the dashboard's "Branch targets" table (issue 15)."""

    permission_classes = [HasCapability]
    capabilities = {"GET": "view_reports"}

    @extend_schema(parameters=[
        OpenApiParameter("from", OpenApiTypes.DATE, required=True, description="first day, YYYY-MM-DD"),
        OpenApiParameter("to", OpenApiTypes.DATE, required=True, description="last day, YYYY-MM-DD"),
    ], responses=TargetRowSerializer)
    def get(self, request):
        errors = {name: [_("required")] for name in ("from", "to") if name not in request.query_params}
        if errors:
            raise ApplicationError(_("from and to are required"), errors=errors)
        date_from = query_date(request, "from", default=dt.date.min)
        date_to = query_date(request, "to", default=dt.date.min)
        if date_to < date_from:
            raise ApplicationError(_("to is before from"), errors={"to": [_("before from")]})
        return Response(target_json(target_rows(user=request.user, date_from=date_from, date_to=date_to)))
