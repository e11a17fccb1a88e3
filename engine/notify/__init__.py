"""What leaves govflow: the outbox, reminders (催办), notices and supervision."""
