"""Lists of claims: one keyset pager (``pager``) for the claims list and the review queue, the
claims list itself (``claims``) and its CSV export (``export``)."""
