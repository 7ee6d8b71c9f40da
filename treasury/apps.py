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

        from core.demo import register_demo_loader

        @register_demo_loader(order=30)
        def load_treasury_demo(*, commune, size, actor):
            from treasury.demo import treasury_demo_load

            return treasury_demo_load(commune=commune, size=size, actor=actor)
