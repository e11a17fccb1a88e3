"""A case's life: starting, stepping, the inbox, and what people do with a case."""
