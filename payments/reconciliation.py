"""Reconciliation of a payout, as pure functions over the provider's balance transactions
(plain dicts, as ``stripe`` returns them with ``expand=["data.source"]``): no database,
no network, so they are tested with realistic payloads and benchmarked on their own.

A payout pays out the balance transactions it contains: charges (gross amount, minus
the provider's fee), refunds and dispute adjustments (negative), fee-only transactions
(``stripe_fee``), and the payout's own transaction (``type=payout``, its amount negated),
which is left out of the sums. The payout *ties out* when the nets of the others add up
to its amount, to the cent. Public accounts never net fees against receipts: the invoice
is credited the gross amount of the charge, and the fees are reported apart as a cost.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class Kind:
    CHARGE = "charge"
    REFUND = "refund"
    DISPUTE = "dispute"
    FEE = "fee"
    PAYOUT = "payout"
    OTHER = "other"


_KIND_OF_TYPE = {
    "charge": Kind.CHARGE, "payment": Kind.CHARGE,
    "refund": Kind.REFUND, "payment_refund": Kind.REFUND,
    "refund_failure": Kind.REFUND, "payment_failure_refund": Kind.REFUND,
    "dispute": Kind.DISPUTE,
    "stripe_fee": Kind.FEE, "stripe_fx_fee": Kind.FEE, "tax": Kind.FEE,
    "payout": Kind.PAYOUT, "payout_cancel": Kind.PAYOUT, "payout_failure": Kind.PAYOUT,
}
_DISPUTE_CATEGORIES = {"dispute", "dispute_reversal"}


def _id(value) -> str:
    if isinstance(value, Mapping):
        return str(value.get("id") or "")
    return str(value or "")


@dataclass(frozen=True)
class Line:
    """One balance transaction, classified. Amounts in integer cents, signed as the
    provider signs them (``net = amount - fee``)."""

    txn_id: str
    type: str
    kind: str
    amount: int
    fee: int
    net: int
    source_id: str = ""
    payment_intent_id: str = ""
    created: int = 0


def line_of(txn: Mapping) -> Line:
    """Classify one balance transaction; ``source`` may be expanded or an id."""
    source = txn.get("source")
    source_id = _id(source)
    kind = _KIND_OF_TYPE.get(txn.get("type", ""), Kind.OTHER)
    if kind == Kind.OTHER and (source_id.startswith("dp_") or txn.get(
            "reporting_category") in _DISPUTE_CATEGORIES):
        kind = Kind.DISPUTE  # a dispute and its reversal are "adjustment" transactions
    intent = ""
    if isinstance(source, Mapping):
        intent = _id(source.get("payment_intent"))
        if not intent and isinstance(source.get("charge"), Mapping):
            intent = _id(source["charge"].get("payment_intent"))
    amount, fee = int(txn["amount"]), int(txn.get("fee") or 0)
    net = int(txn["net"]) if txn.get("net") is not None else amount - fee
    return Line(txn_id=str(txn["id"]), type=str(txn.get("type", "")), kind=kind,
                amount=amount, fee=fee, net=net, source_id=source_id,
                payment_intent_id=intent, created=int(txn.get("created") or 0))


@dataclass(frozen=True)
class Summary:
    """What a payout is made of. ``refunds``, ``disputes`` and ``fees`` are positive
    amounts going out; ``net = gross - refunds - disputes - fees + other``."""

    gross: int
    refunds: int
    disputes: int
    fees: int
    other: int
    net: int
    payout_amount: int

    @property
    def difference(self) -> int:
        return self.payout_amount - self.net

    @property
    def ties_out(self) -> bool:
        return self.difference == 0


def summarise(lines: Iterable[Line], payout_amount: int) -> Summary:
    gross = refunds = disputes = fees = other = net = 0
    for line in lines:
        if line.kind == Kind.PAYOUT:
            continue
        net += line.net
        fees += line.fee
        if line.kind == Kind.CHARGE:
            gross += line.amount
        elif line.kind == Kind.REFUND:
            refunds -= line.amount
        elif line.kind == Kind.DISPUTE:
            disputes -= line.amount
        elif line.kind == Kind.FEE:
            fees -= line.amount
        else:
            other += line.amount
    return Summary(gross=gross, refunds=refunds, disputes=disputes, fees=fees, other=other,
                   net=net, payout_amount=int(payout_amount))


@dataclass(frozen=True)
class PaymentRef:
    """What the ledger knows of a card payment (found by its PaymentIntent id)."""

    id: int
    amount: int
    family_id: int | None = None


@dataclass(frozen=True)
class Finding:
    """An anomaly candidate: ``kind`` and ``key`` identify it once and for all."""

    kind: str
    key: str
    amount: int
    payment_intent_id: str = ""
    payment_id: int | None = None
    txn_id: str = ""


@dataclass
class Match:
    payment_of_line: dict[str, int] = field(default_factory=dict)  # txn id -> payment id
    findings: list[Finding] = field(default_factory=list)


def payout_match(lines: Iterable[Line], *, payments: Mapping[str, PaymentRef],
                 intents_with_events: set[str] | frozenset[str],
                 known_disputes: set[str] | frozenset[str]) -> Match:
    """Follow each transaction to the ledger: charge, refund or dispute → its
    PaymentIntent → the treasury payment recorded under it. Findings: a charge whose
    PaymentIntent has no payment here (``no_invoice``), a charge whose amount differs
    from the payment's (``amount_mismatch``), a charge whose PaymentIntent never sent us
    an event, or a dispute withdrawal we never heard of (``webhook_missing``)."""
    result = Match()
    for line in lines:
        intent = line.payment_intent_id
        payment = payments.get(intent) if intent else None
        if payment is not None:
            result.payment_of_line[line.txn_id] = payment.id
        if line.kind == Kind.CHARGE:
            if payment is None:
                result.findings.append(Finding("no_invoice", f"pi:{intent or line.source_id}",
                                               line.amount, intent, None, line.txn_id))
            elif payment.amount != line.amount:
                result.findings.append(Finding("amount_mismatch", f"txn:{line.txn_id}",
                                               line.amount - payment.amount, intent,
                                               payment.id, line.txn_id))
            if intent and intent not in intents_with_events:
                result.findings.append(Finding("webhook_missing", f"pi:{intent}", line.amount,
                                               intent, payment.id if payment else None,
                                               line.txn_id))
        elif line.kind == Kind.DISPUTE and line.amount < 0 \
                and line.source_id not in known_disputes:
            result.findings.append(Finding("webhook_missing", f"dispute:{line.source_id}",
                                           -line.amount, intent,
                                           payment.id if payment else None, line.txn_id))
    return result


@dataclass(frozen=True)
class PaymentFacts:
    """A card payment as the ledger sees it, with its attempt and the invoices the
    parent paid (status, and whether sent to the treasury before the money arrived)."""

    id: int
    reference: str
    amount: int
    settled: int
    refunded: int
    has_event: bool
    attempt_id: int | None = None
    needs_review: bool = False
    excess: int = 0
    invoices_cancelled: bool = False
    invoices_at_treasury: bool = False


def payment_findings(facts: PaymentFacts) -> list[Finding]:
    """Why a card payment needs the régisseur (at most one money finding, by
    precedence, plus a missing webhook): its money sits unused because the invoice was
    cancelled or sent to the treasury (``encaissement à régulariser``), it paid twice,
    or it settles nothing at all (and is not a known excess, reviewed or not)."""
    findings = []
    unused = facts.amount - facts.settled - facts.refunded
    key = f"payment:{facts.id}"

    def found(kind, amount, finding_key=key):
        findings.append(Finding(kind, finding_key, amount, facts.reference, facts.id))

    if facts.invoices_cancelled and unused > 0:
        found("cancelled_invoice", unused)
    elif facts.invoices_at_treasury and unused > 0:
        found("at_treasury", unused)
    elif facts.needs_review:
        found("double_payment", facts.excess, f"attempt:{facts.attempt_id}")
    elif facts.settled == 0 and facts.refunded < facts.amount and not facts.excess:
        found("no_invoice", unused)
    if not facts.has_event:
        found("webhook_missing", facts.amount, f"pi:{facts.reference}")
    return findings
