"""Service instances. (The catalog and the full lifecycle grow here with the services issue.)"""

from django.db import models

from accounts.models import Client


class ServiceStatus(models.TextChoices):
    """The statuses a client sees, as the seeds name them."""

    ORDERED = "ordered", "Ordered"
    CONFIGURATION_REQUIRED = "configuration_required", "Configuration required"
    IN_PROGRESS = "in_progress", "In progress"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    SUSPENDED_BY_ADMIN = "suspended_by_admin", "Suspended by administrator"
    SUSPENDED_ABUSE = "suspended_abuse", "Suspended due to abuse"
    NOT_AVAILABLE = "not_available", "Not available"
    DELETED = "deleted", "Deleted"


class Service(models.Model):
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=30, choices=ServiceStatus.choices,
                              default=ServiceStatus.ORDERED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"
