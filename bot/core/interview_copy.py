"""What the interviewer says to employers, apart from the interview itself: /help, the
answers to commands, confirmations and the notices of buttons (the interview's own words
are in its definition; the buttons' stale and foreign notices in `bot.core.render`).
Plain text unless a name says otherwise; the interviewer escapes it for HTML.
"""

HELP = (
    "I run a short skills interview with employers for the Local Skills Improvement Plan "
    "of {area}. Your answers help colleges and training providers plan the courses local "
    "businesses need.\n\n"
    "Commands:\n"
    "/start – start, or carry on where you stopped\n"
    "/back – go back to the previous question\n"
    "/skip – skip an optional question\n"
    "/review – see your answers so far\n"
    "/restart – throw your answers away and start again\n"
    "/stop – pause; your answers are kept\n"
    "/myanswers – see everything we hold about you\n"
    "/language – choose the language (when the interview is in several)\n"
    "/forget – erase your personal data and answers\n"
    "/help – this message"
)
UNKNOWN_COMMAND = "Sorry, I don't know that command. Send /help to see what I can do."
TEXT_ONLY = "I can only read text here."
PAUSED = "Paused. Send /start whenever you want to carry on."
NOTHING_STARTED = "You haven't started the interview yet. Send /start to begin."
ALREADY_DONE = (
    "You have already completed the interview — thank you! "
    "You can look at your answers, or send /restart to answer again."
)
UPDATED = "The interview has been updated since you started, so we'll begin again."
ERASED = (
    "Done. I have erased your personal data and your answers. "
    "Send /start if you ever want to take part again."
)
KEPT = "OK, nothing has been changed."
FORGET_QUESTION = (
    "This erases your personal data and all your answers, and cannot be undone. Are you sure?"
)
FORGET_CHOICES = ("Erase my answers", "Keep them")
RESTART_CHOICES = ("Start again", "Keep my answers")
ALREADY_SUBMITTED = "Your answers are already submitted — thank you!"
# A button pressed by someone we hold no record of (erased since, most likely).
NOTHING_HELD_BUTTON = "We hold nothing about you any more. Send /start to take part again."
# /myanswers shows what the person told us, never what a contact list says: whoever holds
# an invite link is not necessarily the person the list names. The same words for all.
LIST_DETAILS = (
    "Contact details a chamber's own list may hold about your business are not shown "
    "here; ask the chamber for a copy."
)
# For someone we hold no record of (never started, or erased): nothing is stored until they
# press Start, which shows the privacy notice first.
NOTHING_HELD = (
    "We hold no personal data about you. Send /start if you want to take part; "
    "you will see our privacy notice first."
)
MESSAGES_SETTING_ON = "\n\nMessages from us (news, reminders, invitations): on."
MESSAGES_SETTING_OFF = (
    "\n\nMessages from us (news, reminders, invitations): off, as you asked. "
    "We only answer what you send."
)
MESSAGES_AGAIN = "You will get our messages again (press No more messages on any to stop)."
OPTED_OUT = (
    "Done — you won't get any more messages from us: no news, reminders or invitations. "
    "We will still answer when you write. Your answers are kept; send /start, or use the "
    "setting in /help, if you want our messages again."
)
OPTED_IN = "Done — you will get our messages again."
NOT_INVITED = "Sorry, that invitation was not sent to you, so I cannot start it here."
CHOOSE_LANGUAGE = "Which language would you like to answer in?"
ONE_LANGUAGE = "This interview is in one language only."
RESTART_QUESTION = "This throws your answers away and starts the interview again. Are you sure?"
STARTING_AGAIN = "Starting again."
REVIEW_MY_ANSWERS = "Review my answers"
