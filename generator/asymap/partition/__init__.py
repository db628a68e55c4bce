"""Partitioning: cost model, segment solver, board-order search, baselines, plan.json."""
