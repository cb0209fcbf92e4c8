"""Documents the bot sends: the /plan skeleton and the /ressources document (.docx, Markdown)."""
