"""Panel events: the catalog, the event store and dispatch to plugins."""
