"""Block Kit screens: messages and views built from domain objects; nothing else."""
