"""Money over time (SPEC §3, §5, §7), one module per concept named in SPEC's words:

- `ledger`: which licence-days each charge and credit line pays for, and the service they
  must match (the ledger rule: every licence-day of service is paid exactly once);
- `term_ends`: renew, convert a trial, or expire when a term ends;
- `timers`: EXPIRED for 30 days, then DISABLED for 90, then DELETED;
- `invoice_lines`: the one way a charge or credit line is built and written;
- `credits`: how large a credit may be and where it goes (an unpaid invoice of its term
  first, else the next document);
- `invoicing`: one document per billing profile and charge day, an invoice or a credit note,
  and the documents of changes charged at once;
- `charging`: charges and refunds at the gateway, outside any transaction;
- `dunning`: retries of a failed charge and the non-payment cut-off;
- `pay_now`: a customer pays a past-due invoice at once;
- `engine`: orders the steps, day by day; `runs`: who starts it (sandbox clock, operator).
"""
