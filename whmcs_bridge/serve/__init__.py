"""``whmcs-bridge serve``: the same cycle as ``run``, on a wake-up ping or a timer, over WSGI."""
