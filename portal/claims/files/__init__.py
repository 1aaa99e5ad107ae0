"""Proof-of-execution files: what a claim may hold (``service``), where the bytes live
(``storage``), and what a file is by its content (``kinds``)."""
