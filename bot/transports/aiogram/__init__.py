"""The aiogram adapter: the Dispatcher's employer router over `bot.core`, and the markup."""
