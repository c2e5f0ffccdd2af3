"""Rendering results: the terminal table and the JSON/CSV/Markdown writers."""
