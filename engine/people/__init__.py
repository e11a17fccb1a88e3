"""Users, groups, who may see what, and how people sign in."""
