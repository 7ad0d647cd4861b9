"""The ops console's own rows: each user's time zone, and the MP deliveries' own admin page."""

from django.conf import settings
from django.db import models

from integration.timezones import validate_time_zone

from .outbound import OutboundCall


class ConsoleUser(models.Model):
    """A console user's settings: the zone times are shown in where no store is the subject."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console")
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA name, like Europe/Paris. Times of calls, events and deliveries are shown in it; a store's "
        "own times in the store's zone.",
    )

    class Meta:
        verbose_name = "console setting"

    def __str__(self):
        return f"{self.user}: {self.time_zone}"


class Delivery(OutboundCall):
    """The outbox rows that deliver events to MP services' webhooks (kind ``deliver_event``): their own
    page, counts and filters, apart from the calls to Link."""

    class Meta:
        proxy = True
        verbose_name = "delivery to MP services"
        verbose_name_plural = "deliveries to MP services"
