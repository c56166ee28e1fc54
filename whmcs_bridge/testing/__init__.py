"""Test helpers shipped with the bridge, so third-party plugin authors test the same way.

``whmcs_bridge.testing.mariadb`` loads the stock WHMCS schemas into MariaDB;
``whmcs_bridge.testing.bridges`` builds a configured :class:`~whmcs_bridge.bridge.Bridge` over a
panel database without entry points.
"""
