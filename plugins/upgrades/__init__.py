"""Upgrades plugin: prices a service upgrade or downgrade under the company's rules (R-UP)."""
