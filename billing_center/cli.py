"""The `billing-center` command: serve | migrate | seed-demo | demo-token | run-billing | deliver-webhooks | check | export-schema."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from billing_center.config import ConfigurationError, Settings, is_sqlite

SCHEMA_FILE = Path("schema.graphql")


def schema_sdl() -> str:
    """The public schema as SDL, as committed in schema.graphql, opening with its
    `schema { query mutation }` block."""
    from billing_center.schema.root import schema

    sdl = schema.as_str()
    if not sdl.startswith("schema"):
        # The printer leaves the block out when the roots have the default names, and tools
        # (graphql-js, codegen, linters) then take the entity type `Subscription` for the
        # subscription root. Naming the roots explicitly says there is none.
        roots = {"query": schema._schema.query_type, "mutation": schema._schema.mutation_type,
                 "subscription": schema._schema.subscription_type}
        block = "".join(f"  {operation}: {root.name}\n" for operation, root in roots.items() if root)
        sdl = "schema {\n" + block + "}\n\n" + sdl
    return sdl + "\n"


async def _migrate(settings: Settings) -> None:
    from billing_center import db
    from billing_center.domain.catalogue import load_catalogue

    if is_sqlite(settings.database_url):
        path = settings.database_url.removeprefix("sqlite://").split("?", 1)[0]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    await db.migrate_db(settings.database_url)
    await db.init_db(settings.database_url)
    try:
        count = await load_catalogue()
    finally:
        await db.close_db()
    print(f"Database migrated; catalogue has {count} products.")


def _command_name() -> str:
    # As the user typed it (`.venv/bin/billing-center` under scripts/start), so a printed
    # hint can be pasted; `billing-center` under `python -m`.
    return sys.argv[0] if Path(sys.argv[0]).name == "billing-center" else "billing-center"


async def _seed_demo(settings: Settings) -> None:
    from billing_center import db
    from billing_center.domain.clock import SystemClock
    from billing_center.domain.demo import seed_demo

    await db.init_db(settings.database_url)
    try:
        seeded = await seed_demo(SystemClock())
    finally:
        await db.close_db()
    if seeded.created:
        print("Demo organization 'Contoso Demo'. Tokens (send as `Authorization: Bearer <token>`):")
        for login in seeded.logins:
            print(f"  {login.display_name:<14} {','.join(login.roles):<14} {login.token}")
        return
    # A repeated start reuses the organization: minting five tokens on every start would
    # pile up live secrets nobody asked for.
    print("Demo organization 'Contoso Demo' exists already: nothing was changed and no token was made "
          "(tokens printed before still work).")
    print(f"Get a token for one of its people with `{_command_name()} demo-token --user NAME`:")
    for person in seeded.people:
        print(f"  {person.key:<8} {person.display_name:<14} {','.join(person.roles)}")


async def _demo_token(settings: Settings, who: str) -> int:
    from billing_center import db
    from billing_center.domain.clock import SystemClock
    from billing_center.domain.demo import demo_token

    await db.init_db(settings.database_url)
    try:
        login = await demo_token(who, SystemClock())
    except LookupError as error:
        print(f"billing-center: {error.args[0]}", file=sys.stderr)
        return 1
    finally:
        await db.close_db()
    print(f"Token of {login.display_name} ({','.join(login.roles)}) in the demo organization; "
          "it replaces their earlier demo token. Send it as `Authorization: Bearer <token>`:", file=sys.stderr)
    print(login.token)
    return 0


async def _run_billing(settings: Settings) -> int:
    """Bill every live tenant; exit status 3 when a tenant had to be skipped (it is listed)."""
    from collections import Counter

    from billing_center import db
    from billing_center.domain.actor import Actor
    from billing_center.domain.billing.runs import run_billing
    from billing_center.domain.clock import SystemClock
    from billing_center.domain.payment_gateway import gateway_named

    gateway = gateway_named(settings.require_payment_gateway())
    await db.init_db(settings.database_url)
    try:
        done = await run_billing(Actor.operator(), SystemClock(), gateway)
    finally:
        await db.close_db()
    counts = Counter(t.kind.value for t in done.transitions)
    summary = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items())) or "nothing was due"
    print(f"Billing run: {len(done.transitions)} transitions ({summary}).")
    for failure in done.failures:
        print(f"Skipped tenant {failure.tenant_id} on {failure.day}: {failure.error}", file=sys.stderr)
    if done.failures:
        skipped = "1 tenant" if len(done.failures) == 1 else f"{len(done.failures)} tenants"
        print(f"Billing run: {skipped} skipped; everyone else was billed.", file=sys.stderr)
        return 3
    return 0


async def _deliver_webhooks(settings: Settings, once: bool) -> int:
    """Deliver webhooks until SIGINT/SIGTERM, or (`once`) what is due now."""
    import logging
    import logging.config
    import signal

    from billing_center import db
    from billing_center.access_log import logging_config

    logging.config.dictConfig(logging_config(settings.log_format))
    await db.init_db(settings.database_url, settings.db_pool_size)
    deliverer = settings.deliverer()
    try:
        if once:
            made = await deliverer.run_once()
            await deliverer.prune_if_due()
            print(f"Webhooks: {made} delivery attempts made.")
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        logging.getLogger("billing_center.webhooks").info("Delivering webhooks as %s", deliverer.owner)
        await deliverer.run_forever(stop)
        return 0
    finally:
        await db.close_db()


async def _check(settings: Settings) -> int:
    from billing_center import db
    from billing_center.domain import integrity

    await db.init_db(settings.database_url)
    try:
        found = await integrity.violations()
    finally:
        await db.close_db()
    for violation in found:
        print(violation)
    noun = "violation" if len(found) == 1 else "violations"
    print("Integrity: ok." if not found else f"Integrity: {len(found)} {noun}.")
    return 1 if found else 0


def _serve(settings: Settings, host: str, port: int, workers: int) -> int:
    # Refused here, before any worker starts, rather than by every worker process in turn.
    settings.require_payment_gateway()
    if workers > 1 and is_sqlite(settings.database_url):
        print(
            "SQLite allows one writer process: run one worker, or set DATABASE_URL to a "
            "PostgreSQL database (postgres://user@host:5432/db) to run several.",
            file=sys.stderr,
        )
        return 2
    from billing_center import workers as worker_processes

    return worker_processes.serve(host, port, workers, settings.log_format)


DATABASE_HELP = (
    "The database is DATABASE_URL (default: a SQLite file, ./var/billing.db; "
    "postgres://user@host:5432/db selects PostgreSQL)."
)

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (one line for `billing-center --help`, the description of `billing-center <name> --help`)
    "serve": (
        "serve the API (GraphiQL at /graphql)",
        "Serve the GraphQL API over HTTP: POST /graphql for clients, GraphiQL when /graphql is opened "
        "in a browser, GET /health for load balancers. Run `migrate` first. " + DATABASE_HELP,
    ),
    "migrate": (
        "create or upgrade the database and load the catalogue",
        "Create the database or bring it to the current version, then load the default product "
        "catalogue. Running it again changes nothing. " + DATABASE_HELP,
    ),
    "seed-demo": (
        "create the demo organization and print its tokens (once)",
        "Create the demo organization 'Contoso Demo' with users of every role and some subscriptions, "
        "and print one API token per user (send it as `Authorization: Bearer <token>`). Run again, it "
        "changes nothing and says how to get a token (`demo-token`). " + DATABASE_HELP,
    ),
    "demo-token": (
        "print a fresh token for a person of the demo organization",
        "Print a fresh API token for a person of the demo organization, and only the token, so that "
        "TOKEN=$(billing-center demo-token) works. That person's earlier demo token stops working. " + DATABASE_HELP,
    ),
    "run-billing": (
        "process everything due for every live tenant up to now",
        "Run the billing engine for every live tenant up to now: renewals, invoices, charges, retries "
        "and expiry. Running it twice changes nothing the second time. Exits with status 3 when a "
        "tenant had to be skipped (it is listed). " + DATABASE_HELP,
    ),
    "deliver-webhooks": (
        "deliver webhooks as a process of its own",
        "Deliver webhook events to the registered endpoints until stopped (SIGINT/SIGTERM), or with "
        "--once only what is due now. `serve` delivers by itself; run this for larger set-ups with "
        "BILLING_WEBHOOK_DELIVERY=0 on the API workers. Several may run on one PostgreSQL database: "
        "each endpoint is worked on by one of them at a time. " + DATABASE_HELP,
    ),
    "check": (
        "check every invariant of the billing data (exit 1 on a violation)",
        "Check every invariant of the stored billing data (seat counts, the ledger, documents per "
        "charge day...) and print each violation; exits with status 1 when there is one. " + DATABASE_HELP,
    ),
    "export-schema": (
        "write the schema as SDL",
        "Write the public GraphQL schema as SDL (the committed schema.graphql), or with --check "
        "only compare it with the file. Needs no database.",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `billing-center`, every subcommand and option explained."""
    parser = argparse.ArgumentParser(prog="billing-center", description=__doc__,
                                     epilog="`billing-center <command> --help` explains a command and its options.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    sub = {
        name: commands.add_parser(name, help=help_line, description=description,
                                  formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        for name, (help_line, description) in COMMANDS.items()
    }
    sub["serve"].add_argument("--host", default="127.0.0.1",
                              help="address to listen on (0.0.0.0 for every interface)")
    sub["serve"].add_argument("--port", type=int, default=8000, help="TCP port to listen on")
    sub["serve"].add_argument("--workers", type=int, default=1,
                              help="worker processes; more than one needs PostgreSQL")
    sub["demo-token"].add_argument("--user", default="grace", metavar="NAME",
                                   help="grace, bianca, luis, uma or ulf (an email's local part), or a role such as "
                                        "admin, BILLING_ADMIN, USER (grace is the global admin)")
    sub["deliver-webhooks"].add_argument("--once", action="store_true",
                                         help="deliver what is due now, then exit")
    sub["export-schema"].add_argument("--output", type=Path, default=SCHEMA_FILE, help="the SDL file to write")
    sub["export-schema"].add_argument("--check", action="store_true",
                                      help="write nothing; exit 1 if the file differs from the schema")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `billing-center` console script."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ConfigurationError as error:
        print(f"billing-center: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.command == "serve":
        return _serve(settings, args.host, args.port, args.workers)
    if args.command == "check":
        return asyncio.run(_check(settings))
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        return 0
    if args.command == "seed-demo":
        asyncio.run(_seed_demo(settings))
        return 0
    if args.command == "demo-token":
        return asyncio.run(_demo_token(settings, args.user))
    if args.command == "run-billing":
        return asyncio.run(_run_billing(settings))
    if args.command == "deliver-webhooks":
        return asyncio.run(_deliver_webhooks(settings, args.once))
    sdl = schema_sdl()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != sdl:
            print(f"{args.output} is stale: run `billing-center export-schema`.", file=sys.stderr)
            return 1
        print(f"{args.output} is current.")
        return 0
    args.output.write_text(sdl)
    print(f"Wrote {args.output}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
