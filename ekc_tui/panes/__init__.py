"""The panes of the console's main window: each draws its part and owns its state, keys and
workers (status bar, card, queue, history, knowledge base, wrap-up, callbacks)."""
