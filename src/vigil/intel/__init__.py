"""Intelligence across cases: the lab-wide content index, the lab bank, referrals."""
