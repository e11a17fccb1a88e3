"""What the data authority and the jurisdiction decide: the resource catalog and profile."""
