"""`labtax rank`: candidate answers ranked under the constitution into preference pairs.

The entry point is labtax.rank.run.rank; this package's __init__ imports nothing, so the trainer's
`from labtax.preferences import read_preferences` stays light."""
