"""Consent and the person's rights: ledger and hash chain, gate, log tiers, identities, rights, retention, outreach."""
