from django.core.management.base import BaseCommand, CommandError

from billing.audit import CHECKS


class Command(BaseCommand):
    help = ("Check every money invariant: zero-sum transactions, stored balances equal to "
            "their entries, paid invoices with their payment, expenses for every debit, "
            "amounts in minor units, holds; and purpose: every captured payment applied to "
            "what it was for, every paid order with its debit, every refund debited exactly "
            "when its gateway confirmed it. Exits non-zero, naming each problem.")

    def handle(self, *args, **options):
        problems = []
        for check in CHECKS:
            found = list(check())
            name = check.__name__.replace("_", " ")
            self.stdout.write(f"{'FAIL' if found else 'ok  '}  {name}")
            problems.extend(found)
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} problem(s) in the books.")
        self.stdout.write(self.style.SUCCESS("The books balance."))
