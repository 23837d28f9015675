from django.core.management.base import BaseCommand, CommandError

from services.models import Service, ServiceStatus


class Command(BaseCommand):
    help = "List services, by status, client or plan."

    def add_arguments(self, parser):
        parser.add_argument("--status", choices=ServiceStatus.values)
        parser.add_argument("--client", type=int, help="client id")
        parser.add_argument("--plan", type=int, help="tariff plan id")
        parser.add_argument("--limit", type=int, default=200)

    def handle(self, *args, status=None, client=None, plan=None, limit=200, **options):
        services = Service.objects.select_related("client", "plan").order_by("pk")
        if status:
            services = services.filter(status=status)
        if client:
            services = services.filter(client_id=client)
        if plan:
            services = services.filter(plan_id=plan)
        total = services.count()
        if limit < 1:
            raise CommandError("--limit must be positive")
        self.stdout.write(f"{'id':>7}  {'status':<34} {'expires':<10}  {'client':<24} "
                          f"{'plan':<18} name")
        for service in services[:limit]:
            self.stdout.write(
                f"{service.pk:>7}  {service.status_label:<34} "
                f"{service.expires_on.isoformat() if service.expires_on else '-':<10}  "
                f"{service.client.name[:24]:<24} {service.plan.name[:18]:<18} {service.name}")
        self.stdout.write(f"{min(total, limit)} of {total} service(s)")
