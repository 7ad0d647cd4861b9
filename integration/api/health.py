from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.services.ops.health import readiness_problems

from .errors import error_response


class HealthView(APIView):
    """Liveness: answers without touching the database (also the benchmark's no-op baseline)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []  # never told to slow down (api/throttling.py)
    parser_classes = []

    @extend_schema(exclude=True)
    def get(self, request):
        return Response({"status": "ok"})

    @extend_schema(exclude=True)
    def post(self, request):
        return Response({"status": "ok"})


class ReadyView(APIView):
    """Readiness: 503 naming each problem (database, redis, migrations, worker) so a balancer holds traffic back."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []  # never told to slow down (api/throttling.py)

    @extend_schema(exclude=True)
    def get(self, request):
        problems = readiness_problems()
        if problems:
            message = "Not ready: " + "; ".join(f"{name}: {why}" for name, why in problems.items())
            return error_response(503, "not_ready", message, problems)
        return Response({"status": "ready"})
