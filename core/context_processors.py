from django.db import connection


def site(request):
    """Expose the current commune (or None on the vendor console) to templates."""
    tenant = getattr(request, "tenant", None)
    is_commune = tenant is not None and connection.schema_name != "public"
    return {"commune": tenant if is_commune else None, "is_vendor_site": not is_commune}
