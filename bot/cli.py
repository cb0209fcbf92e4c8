"""The `coachbot` command: run, demo, db, invite, enrol, review, ...

Without a subcommand, `coachbot` runs the bot when a Telegram token is configured, and the built-in
demo otherwise. Configuration errors print one line naming the variable and exit with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

# Subcommands contributed by feature modules: each has register(subparsers) and run(args) -> int.
FEATURE_COMMANDS = (
    "bot.commands.people", "bot.commands.review", "bot.commands.personal_data", "bot.commands.broadcast",
    "bot.commands.deliveries", "bot.commands.accompaniment",
)


def _parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(prog="coachbot", description="Coachbot: accompagnement du rapport d'activité Cnam")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the Telegram bot (long polling, or webhook when WEBHOOK_URL is set)")
    demo = sub.add_parser("demo", help="the bot against the built-in Telegram emulator, in the terminal")
    demo.add_argument("--script", metavar="FILE", help="replay the lines of FILE instead of reading the terminal")
    demo.add_argument("--files", metavar="DIR", default="coachbot-demo-files", help="where documents sent by the bot are saved")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser("upgrade", help="apply the migrations")
    runners: dict[str, object] = {}
    for module_name in FEATURE_COMMANDS:
        module = importlib.import_module(module_name)
        registered = module.register(sub)
        names = registered if isinstance(registered, list) else [module_name.rsplit(".", 1)[1]]
        for name in names:
            runners[name] = module
    return parser, runners


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["review"]:  # a one-shot review imports nothing else (speed, see bot.commands.review)
        from bot.commands import review

        return review.main(arguments[1:])
    from bot.config import ConfigError
    from bot.telegram.rendering import Renderer

    parser, runners = _parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(parser, runners, args)
    except ConfigError as error:
        line = Renderer().render("cli/config_error.txt", variable=error.variable, problem=error.problem)
        print(line, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


def _dispatch(parser, runners, args) -> int:
    from bot.config import load_settings

    if args.command in runners:
        return runners[args.command].run(args)
    settings = load_settings()
    if args.command is None:
        args.command = "run" if settings.bot_token else "demo"
        args.script, args.files = None, "coachbot-demo-files"
    if args.command == "db":
        from bot.storage.db import Database

        Database(settings.database_url).upgrade()
        print(f"database up to date ({_safe_url(settings.database_url)})")
        return EXIT_OK
    if args.command == "run":
        from bot.runner import run_bot

        return run_bot(settings)
    if args.command == "demo":
        from bot.demo import run_demo

        return run_demo(settings, script=args.script, files_dir=args.files)
    parser.print_help()
    return EXIT_USAGE


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
