"""Treasury models (tenant schemas): tariffs, invoices, the payments ledger."""

from treasury.models.billed_days import BilledDays  # noqa: F401
from treasury.models.helios import (  # noqa: F401
    NUMBERED_STATUSES,
    BordereauKind,
    BordereauStatus,
    Civility,
    HeliosBordereau,
    HeliosImport,
    HeliosImportKind,
    HeliosPiece,
    HeliosSettings,
    TransmissionStatus,
)
from treasury.models.invoices import (  # noqa: F401
    ACTIVE_RUN_STATUSES,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    InvoicingRun,
    LineKind,
    NumberSequence,
    NumberSeries,
    RunStatus,
)
from treasury.models.ledger import DESK_CHANNELS, Channel, Payment, Refund, Settlement  # noqa: F401
from treasury.models.tariffs import (  # noqa: F401
    MissingQuotientRule,
    QuotientGrid,
    Tariff,
    TreasuryProfile,
)
