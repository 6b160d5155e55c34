"""The Telegram side: the Application wiring, the HTTP transport, the web server."""
