"""The durable message outbox: one row per message, delivered by a worker that survives crashes.

``tables`` holds the table definitions and the state names (imported by the migrations, so this
package's ``__init__`` stays free of heavier imports). ``service.Outbox`` is what plugins call
(``bridge.outbox``); ``worker`` delivers due rows; ``status`` applies provider webhooks.
"""
