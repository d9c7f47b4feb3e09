"""What one process holds while it runs: background tasks, the Slack client, health state.

Below `app.context` (which holds one of each) and above the config: nothing here knows the
store, the services or the edges.
"""
