"""The gateway hands out its own CLI: a wheel built from the code it runs."""
