"""The bridge's own tables (``mod_whmcs_bridge_*``) in the panel's database; migrations."""
