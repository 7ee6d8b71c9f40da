"""Balance transactions as Stripe lists them for a payout (``expand=["data.source"]``):
localstripe links no transaction to a payout, so the tests build the list as data."""

import itertools
import time

_ids = itertools.count(1)


def fee_of(amount: int) -> int:
    """Stripe's European card fee: 1,5 % + 0,25 €, rounded to the cent."""
    return (amount * 15 + 500) // 1000 + 25


def _txn(kind, category, amount, fee, source):
    number = next(_ids)
    return {"id": f"txn_{number:06d}", "object": "balance_transaction", "type": kind,
            "reporting_category": category, "amount": amount, "fee": fee,
            "net": amount - fee, "currency": "eur", "created": int(time.time()),
            "status": "available", "source": source,
            "fee_details": [{"amount": fee, "currency": "eur", "type": "stripe_fee"}]
            if fee else []}


def charge_txn(intent_id: str, amount: int, *, charge_id: str | None = None,
               fee: int | None = None) -> dict:
    charge_id = charge_id or f"ch_{next(_ids):06d}"
    return _txn("charge", "charge", amount, fee_of(amount) if fee is None else fee,
                {"id": charge_id, "object": "charge", "amount": amount,
                 "payment_intent": intent_id})


def refund_txn(intent_id: str, amount: int, refund_id: str) -> dict:
    return _txn("refund", "refund", -amount, 0,
                {"id": refund_id, "object": "refund", "amount": amount,
                 "payment_intent": intent_id})


def dispute_txn(intent_id: str, amount: int, dispute_id: str, *, fee: int = 1500) -> dict:
    return _txn("adjustment", "dispute", -amount, fee,
                {"id": dispute_id, "object": "dispute", "amount": amount,
                 "payment_intent": intent_id})


def stripe_fee_txn(amount: int) -> dict:
    return _txn("stripe_fee", "fee", -amount, 0, None)


def payout_txn(payout_id: str, amount: int) -> dict:
    return _txn("payout", "payout", -amount, 0, payout_id)


def net_of(txns: list[dict]) -> int:
    return sum(txn["net"] for txn in txns if txn["type"] != "payout")
