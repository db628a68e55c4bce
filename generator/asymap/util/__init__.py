"""Small helpers shared by every stage (atomic writes, C identifiers, progress)."""
