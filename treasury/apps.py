from django.apps import AppConfig


class TreasuryConfig(AppConfig):
    name = "treasury"
    verbose_name = "Treasury"

    def ready(self):
        from core.defaults import register_commune_defaults

        @register_commune_defaults(order=30)
        def create_treasury_defaults(*, commune, template):
            from treasury.defaults import treasury_defaults_create

            treasury_defaults_create(commune=commune, template=template)
