from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts import demo as accounts_demo
from billing import demo as billing_demo
from cart import demo as cart_demo
from engine import demo as engine_demo
from payments import demo as payments_demo
from services import demo as services_demo
from support import demo as support_demo


class Command(BaseCommand):
    help = "Create the demo providers, companies, staff, clients and catalog. Safe to re-run."

    def handle(self, *args, **options):
        logins = accounts_demo.seed()
        services_demo.seed()
        payments_demo.seed()
        cart_demo.seed()
        engine_demo.seed()
        support_demo.seed()
        support_demo.seed_mail()
        support_demo.seed_queue()
        billing_demo.seed(today=timezone.localdate())  # exchange rates (issue 15)
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))
        width = max(len(who) for who, _, _ in logins)
        for who, email, password in logins:
            self.stdout.write(f"  {who:<{width}}  {email:<24} {password}")
