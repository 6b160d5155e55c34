"""The staff desk: tickets, their cards and reports."""
