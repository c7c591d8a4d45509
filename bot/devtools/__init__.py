"""Developer tools, never pointed at real data: the fake Telegram Bot API server
(`fake_telegram`, which the tests, the benchmarks and the playground talk to) and the browser
playground (`playground`, with its own database and pretend people)."""
