from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.rates_import import RatesFileError, rates_import


class Command(BaseCommand):
    help = ("Import exchange rates from a CSV file (date,base,quote,rate). A file with any "
            "bad row writes nothing; the same file twice adds nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true",
                            help="Report what would be added and every error; write nothing.")

    def handle(self, *args, file, dry_run, **options):
        try:
            report = rates_import(Path(file).read_bytes(), dry_run=dry_run)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from None
        except RatesFileError as error:
            raise CommandError(str(error)) from None
        for row in report.errors:
            self.stdout.write(f"line {row.line}: " + " ".join(row.errors))
        summary = (f"{report.count('new')} new, {report.count('unchanged')} unchanged, "
                   f"{len(report.errors)} with errors")
        if report.errors:
            raise CommandError(f"{summary}; nothing written.")
        verb = "would be written (dry run)" if dry_run else "written"
        self.stdout.write(f"{summary}; {report.written if not dry_run else report.count('new')}"
                          f" {verb}.")
