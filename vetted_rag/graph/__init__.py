"""State, configuration, budgets and wiring of the graded loop."""
