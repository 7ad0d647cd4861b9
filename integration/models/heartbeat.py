from django.db import models


class WorkerHeartbeat(models.Model):
    """When a worker host last ran the outbox sweep; /readyz/ wants one within READY_SWEEP_MAX_AGE."""

    host = models.CharField(max_length=255, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self):
        return f"{self.host} swept at {self.beat_at:%Y-%m-%d %H:%M:%S}"
