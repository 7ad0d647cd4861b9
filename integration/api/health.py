from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class HealthView(APIView):
    """Liveness: answers without touching the database (also the benchmark's no-op baseline)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = []

    @extend_schema(exclude=True)
    def get(self, request):
        return Response({"status": "ok"})

    @extend_schema(exclude=True)
    def post(self, request):
        return Response({"status": "ok"})
