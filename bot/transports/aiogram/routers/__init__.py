"""The staff's updates on aiogram: one Router per feature (staff commands, interview files,
broadcast drafts, /weekly), each only parsing and handing core values to
`bot.core.staff.StaffDesk`; included by `bot.transports.aiogram.dispatch` before the
employer's router (`bot.transports.aiogram.employer`)."""
