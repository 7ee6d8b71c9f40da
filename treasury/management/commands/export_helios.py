"""``export_helios --commune SLUG --output FILE [--with-pdf [--processes N]]``: the ORMC
bordereau of every unpaid invoice past its deadline (the same service as the finance
page), validated, then written to FILE. Exits non-zero with the reasons when the bordereau
is invalid. With ``--processes``, the PDFs are rendered first by N worker processes
(``treasury.pdf_pool``: bounded memory, every core), for big exports."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.journal import Actor
from tenants.management.options import add_commune_argument, commune_from_option
from treasury.pricing import format_cents


class Command(BaseCommand):
    help = "Build, validate and write the Hélios ORMC bordereau of a commune's unpaid invoices."

    def add_arguments(self, parser):
        add_commune_argument(parser)
        parser.add_argument("--output", required=True, help="file to write (PES_Aller XML)")
        parser.add_argument("--with-pdf", action="store_true",
                            help="attach each invoice's PDF (Edition 06)")
        parser.add_argument("--processes", type=int, default=0,
                            help="with --with-pdf: render the PDFs in this many worker "
                                 "processes (0: in this process)")

    def handle(self, *args, commune, output, with_pdf, processes, **options):
        from treasury.models import BordereauStatus
        from treasury.selectors_helios import helios_invoices_proposed
        from treasury.services.helios import helios_bordereau_build

        tenant = commune_from_option(commune)
        if processes < 0:
            raise CommandError("--processes must be 0 or more")
        with tenant:
            invoices = list(helios_invoices_proposed())
            pdfs = None
            if with_pdf and processes:
                from treasury.pdf_pool import invoice_pdfs

                pdfs = invoice_pdfs([invoice.pk for invoice in invoices], processes=processes)
            try:
                bordereau = helios_bordereau_build(invoices=invoices, with_pdf=with_pdf,
                                                   actor=Actor.system("export_helios"),
                                                   pdfs=pdfs)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
            self.stdout.write(f"bordereau {bordereau.exer}-{bordereau.id_bord}: "
                              f"{bordereau.piece_count} pieces, "
                              f"{format_cents(bordereau.total_cents)}")
            if bordereau.status != BordereauStatus.VALID:
                raise CommandError("invalid bordereau:\n" + bordereau.errors)
            Path(output).write_bytes(bytes(bordereau.content))
            self.stdout.write(f"written to {output} ({len(bordereau.content)} bytes); "
                              "release it on the finance page")
