"""`incident-bot demo`: the bot with a built-in Slack, in a browser (see app.demo.run)."""
