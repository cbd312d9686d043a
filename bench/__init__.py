"""Side-by-side proxy benchmark (`make bench`); never imported by the gateway or the tests."""
