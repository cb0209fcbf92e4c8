"""Services with I/O around the domain (optional language model, ...)."""
