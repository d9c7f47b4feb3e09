"""Block Kit screens: messages and views built from domain objects; nothing else.

One module per screen; each imports only app.domain and slack_sdk.models at run time (the ORM
rows they read are named in annotations only).

    common.py     Message, clipping and escaping to Slack's limits, severity and status labels
    declare.py    the declare modal and its severity suggestion
    summary.py    the pinned summary and its buttons, channel topic, announcement, setup failure
    followup.py   an action item's Done button and Mark review held
    messages.py   status updates, the resolution note, review and action-item messages, the list
    escalation.py pages, acknowledgements, response-target warnings, update reminders
    modals.py     the severity, status and resolve modals, and reading submissions back
    timeline.py   `/incident timeline`, paginated to fit Slack's limits
    runbooks.py   a runbook as a checklist message, or as text
    help.py       `/incident help`
"""
