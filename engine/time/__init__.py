"""Legal time: the working-day calendar, deadlines and where a task stands against them."""
