"""Messages from webhook to reply: ingress (dedupe, durable enqueue), the typed queue, the worker and its handler,
delivery statuses."""
