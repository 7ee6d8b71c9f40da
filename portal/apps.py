from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Family portal"

    def ready(self):
        from core.defaults import register_commune_defaults

        @register_commune_defaults(order=20)
        def create_portal_defaults(*, commune, template):
            from portal.defaults import portal_defaults_create

            portal_defaults_create(commune=commune, template=template)

        from core.demo import register_demo_loader

        @register_demo_loader(order=20)
        def load_portal_demo(*, commune, size, actor):
            from portal.demo import portal_demo_load

            return portal_demo_load(commune=commune, size=size, actor=actor)
