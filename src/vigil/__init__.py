"""vigil: forensic triage of pictures and videos against known-material hash sets."""

__version__ = "0.1.0"
