"""Client programs the poll benchmark runs, each in its own process (see bench_poll)."""
