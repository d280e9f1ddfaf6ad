"""Referral intake: CyberTipline-style reports read, stored, matched and prioritised."""
