"""The staff's Telegram handlers on aiogram: one Router per feature (staff, interview
files, broadcasts, follow-ups), wired together in `bot.app` before the employer's router
(`bot.transports.aiogram.employer`)."""
