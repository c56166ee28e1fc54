"""Delivery channels: WhatsApp Cloud API and Telegram Bot API clients behind one interface."""
