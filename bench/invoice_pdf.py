"""The invoice PDF's cost: WeasyPrint laying out the invoice HTML as PDF/A-3b, beside
rendering that HTML from the template (the sandboxed Jinja2 step every invoice view pays),
for a one-page invoice and a long one, in the same run.

    .venv/bin/python bench/invoice_pdf.py --rounds 5 --lines 200

Prints seconds per document (median of the rounds), pages, size, and the ratio of the PDF
layout to the HTML render. No database or Temporal: the renderer alone, in this process."""

import argparse
import copy
import io
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pypdf import PdfReader

from services.billing.invoice_pdf import PdfPage, pdf_bytes
from services.billing.rendering import _render, default_template, sample_context

MOMENT = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
PAGE = PdfPage(title="Invoice INV-2026-0001", created=MOMENT, modified=MOMENT, mark="VOID")


def median_seconds(work: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(context: dict[str, Any], rounds: int, label: str) -> None:
    source = default_template()
    html = _render(source, context)
    pdf = pdf_bytes(html, PAGE)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    html_s = median_seconds(lambda: _render(source, context), rounds)
    pdf_s = median_seconds(lambda: pdf_bytes(html, PAGE), rounds)
    print(
        f"{label:>12}: {len(context['lines']):4d} lines, {pages} page(s), {len(pdf):7,d} bytes;"
        f" HTML {html_s * 1000:7.1f} ms, PDF {pdf_s * 1000:7.1f} ms"
        f" ({pdf_s / html_s:,.0f}x the HTML)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lines", type=int, default=200)
    args = parser.parse_args()
    short = sample_context()
    # The first layout loads fonts and Pango: not counted.
    pdf_bytes(_render(default_template(), short), PAGE)
    measure(short, args.rounds, "one page")
    long = copy.deepcopy(short)
    long["lines"] = [
        {**short["lines"][i % len(short["lines"])], "position": i + 1} for i in range(args.lines)
    ]
    measure(long, max(1, args.rounds // 2), "long invoice")


if __name__ == "__main__":
    main()
