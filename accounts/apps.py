from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(sender, using="default", **kwargs):
    """The database cache (the embedded default, shared by every process for sign-in
    limits) needs its table; after every migrate it exists, wherever migrate runs
    (make run, the test database, a deployment). A no-op for other cache backends."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Clients and staff"

    def ready(self):
        from accounts import signin_log  # noqa: F401  (connects its receivers)

        post_migrate.connect(_create_cache_table, sender=self,
                             dispatch_uid="accounts.create_cache_table")
