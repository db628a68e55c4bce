"""Cluster model: the board library (boards/*.yaml) and cluster files (boards + links + host)."""
