"""Where the project's data directories live (French content is data, not code)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
PROMPTS_DIR = PROJECT_DIR / "prompts"
TEMPLATES_DIR = PROJECT_DIR / "templates"
