from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from core.defaults import register_commune_defaults

        @register_commune_defaults(order=10)
        def create_role_groups(*, commune, template):
            from accounts.services import role_groups_ensure

            role_groups_ensure()
