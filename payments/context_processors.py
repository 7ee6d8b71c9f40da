from django.utils.functional import SimpleLazyObject


def online_payment(request):
    """``online_payment``: whether this commune takes card payments (read lazily)."""
    from payments.provider import online_payment_ready

    return {"online_payment": SimpleLazyObject(online_payment_ready)}
