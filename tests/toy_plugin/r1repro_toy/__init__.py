"""A test plugin that registers one component of every kind (and a toy reproduction)."""
