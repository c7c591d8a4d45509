"""The application core: the employer's services, with no Telegram library.

Inputs and outputs are plain values (`messages`: buttons, keyboards, messages, a reply;
`desk`: an update as `Said`, `Pressed` or `Blocked`). `desk.EmployerDesk` routes an
update; `interviewer.Interviewer` runs it as one unit of work (claim, chat lock, one
transaction) and delivers its reply through the transport's `Messenger`; `render` words
the engine's prompts; `callbacks` packs and reads the buttons' data. The transports
(`bot.transports`) call in; import-linter keeps aiogram and telegram out.
"""
