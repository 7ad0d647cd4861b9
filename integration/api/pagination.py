"""Pages of the internal API: ``limit`` and ``offset`` are checked, not silently replaced by defaults."""

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination


class Pages(LimitOffsetPagination):
    max_limit = 500

    def _number(self, request, name: str, *, minimum: int, maximum: int | None, default: int | None):
        raw = request.query_params.get(name)
        if raw is None:
            return default
        field = serializers.IntegerField(min_value=minimum, max_value=maximum)
        try:
            return field.run_validation(raw)
        except ValidationError as exc:
            raise ValidationError({name: exc.detail}) from None

    def get_limit(self, request):
        return self._number(
            request, self.limit_query_param, minimum=1, maximum=self.max_limit, default=self.default_limit
        )

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: (1, self.max_limit), self.offset_query_param: (0, None)}
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"]["minimum"] = low
            if high is not None:
                parameter["schema"]["maximum"] = high
        return parameters

    def get_offset(self, request):
        return self._number(request, self.offset_query_param, minimum=0, maximum=None, default=0)
