"""Layering: ``treasury`` never imports the card-payments app ``payments`` (issue 5 builds
on the treasury, through ``treasury.services.payments.payment_record``, never the other
way round)."""

import ast
from pathlib import Path

import treasury

TREASURY = Path(treasury.__file__).parent
DYNAMIC_IMPORTS = {"import_module", "__import__", "get_model", "get_app_config"}


def is_payments(name: str | None) -> bool:
    return bool(name) and (name == "payments" or name.startswith("payments."))


def payments_imports(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if is_payments(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if is_payments(node.module):
                found.append(f"from {node.module} import …")
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            first = node.args[0] if node.args else None
            if (name in DYNAMIC_IMPORTS and isinstance(first, ast.Constant)
                    and isinstance(first.value, str) and is_payments(first.value)):
                found.append(f"{name}({first.value!r})")
    return [f"{filename}: {line}" for line in found]


def test_the_checker_sees_imports():
    source = ("import payments\nfrom payments.models import PaymentAttempt\n"
              "from treasury.services.payments import payment_record\n"
              "from . import payments\napps.get_model('payments', 'Refund')\n"
              "importlib.import_module('payments.tasks')\nimport paymentsx\n")
    assert payments_imports(source, "probe.py") == [
        "probe.py: import payments", "probe.py: from payments.models import …",
        "probe.py: get_model('payments')", "probe.py: import_module('payments.tasks')"]


def test_treasury_never_imports_payments():
    files = sorted(TREASURY.rglob("*.py"))
    assert len(files) > 30 and TREASURY / "services" / "payments.py" in files
    hits = [hit for path in files
            for hit in payments_imports(path.read_text(encoding="utf-8"),
                                        str(path.relative_to(TREASURY.parent)))]
    assert hits == []
