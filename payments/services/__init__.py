"""Card-payment writes. Money is recorded only through ``treasury.services``, and only
from a PaymentIntent re-read from the provider's API (never from what a browser says)."""
