"""The running bot: how it is assembled (`app`), how updates reach the core (polling or the
webhook into the durable inbox, `inbox_worker` taking them out), the clock (`scheduler`) and
the bot's command menus (`menus`). Library-neutral: each Telegram library is reached through
`bot.transports`."""
