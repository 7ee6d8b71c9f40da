"""Treasury writes. Each function is one transaction and writes the action journal."""
