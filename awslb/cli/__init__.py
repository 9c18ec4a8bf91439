"""The root command: global options, subcommand groups, and the one place errors become exit codes.

Exit codes (DESIGN.md): 0 success; 1 the operation failed; 2 usage error; 3 `plan
--exit-code` with changes pending; 4 invalid stack file or input (nothing sent to AWS).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from awslb import __version__
from awslb.cli.common import State, state
from awslb.errors import INVALID_INPUT, USAGE, AwslbError

# The click exception classes Typer vendors, found without importing click.
_CLICK_EXCEPTION: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_ABORT = typer.Abort
INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class AwslbGroup(TyperGroup):
    """Maps every awslb error, usage error and interrupt to one line and an exit code."""

    def get_help_option(self, ctx: Any) -> Any:
        return _plain_help_option(super().get_help_option)(ctx)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        args = hoist_globals(list(sys.argv[1:] if args is None else args))
        if not args:
            args = ["--help"]  # `awslb` alone: the help, and success
        tidy_help(self)
        plain_globals(self.params)
        path, output = command_path(args)
        if args[-len(path):] == path and _is_group(self, path):
            args = [*args, "--help"]  # `awslb asg` alone: that group's help, and success
        why = TEXT_ONLY.get(tuple(path[:2])) or TEXT_ONLY.get(tuple(path[:1]))
        if output == "json" and why and not {"--help", "-h"} & set(args):
            _error(f"--output json: `awslb {' '.join(path[:2])}` {why}; use --output text")
            sys.exit(2)
        try:
            rv = super().main(args=args, prog_name=prog_name or "awslb", complete_var=complete_var,
                              standalone_mode=False, windows_expand_args=windows_expand_args, **extra)
        except AwslbError as exc:
            # A bad flag or input is one line naming it (DESIGN.md); hints are for failures.
            _error(str(exc), None if exc.exit_code in (USAGE, INVALID_INPUT) else exc.hint)
            sys.exit(exc.exit_code)
        except _CLICK_EXCEPTION as exc:
            usage: Any = exc  # a ClickException: format_message() and exit_code
            _error(usage.format_message())
            sys.exit(usage.exit_code)
        except (_ABORT, KeyboardInterrupt):
            from awslb.cli.common import interrupted_line

            _error(interrupted_line())
            sys.exit(INTERRUPTED)
        code = rv if isinstance(rv, int) else 0
        if code == INTERRUPTED:  # Typer turns KeyboardInterrupt into Exit(130) itself
            from awslb.cli.common import interrupted_line

            _error(interrupted_line())
        if standalone_mode:
            sys.exit(code)
        return code


# Global options may also follow the command (`awslb up -f s.toml --sandbox`), as in the
# AWS CLI: they are moved before it. Only long forms, so a command's own `-o FILE` stays.
GLOBAL_FLAGS = {"--sandbox", "--no-color"}
GLOBAL_VALUED = {"--profile", "--region", "--endpoint-url", "--output"}


# Commands whose output is a file or a conversation: --output json is refused, not ignored.
TEXT_ONLY = {
    ("userdata", "render"): "prints a shell script",
    ("wcs", "properties"): "prints flashphoner.properties lines",
    ("haproxy", "config"): "writes haproxy.cfg",
    ("examples", "show"): "prints a TOML file",
    ("agent", "serve"): "answers HAProxy's agent checks",
    ("wizard",): "asks questions on the terminal",
}


def _is_group(root: Any, path: list[str]) -> bool:
    cmd = root
    for word in path:
        cmd = getattr(cmd, "commands", {}).get(word)
        if cmd is None:
            return False
    return bool(path) and getattr(cmd, "commands", None) is not None


def command_path(args: list[str]) -> tuple[list[str], str | None]:
    """The command words (`asg create`) and the --output value, from hoisted arguments."""
    path: list[str] = []
    output = None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--output", "-o") and not path and i + 1 < len(args):
            output = args[i + 1]
            i += 2
            continue
        if a.startswith("--output=") and not path:
            output = a.split("=", 1)[1]
        elif a in GLOBAL_VALUED and not path:
            i += 2
            continue
        elif a.startswith("-"):
            if path:
                break
        else:
            path.append(a)
        i += 1
    return path, output


def hoist_globals(args: list[str]) -> list[str]:
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i:])
            break
        name = a.split("=", 1)[0]
        if a in GLOBAL_FLAGS or a == "--verbose":
            front.append(a)
        elif name in GLOBAL_VALUED and "=" in a:
            front.append(a)
        elif a in GLOBAL_VALUED and i + 1 < len(args):
            front.extend(args[i : i + 2])
            i += 1
        else:
            rest.append(a)
        i += 1
    return front + rest


# The value word each option shows in --help, by Typer's type label (`<int>` -> INTEGER).
_METAVARS = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "int range": "INTEGER",
             "float range": "NUMBER", "path": "PATH", "file": "FILE", "directory": "DIR", "bool": "BOOLEAN"}


def tidy_help(command: Any) -> None:
    """Help as people read it: `--min INTEGER`, `awslb asg scale NAME`, flags with no value
    word (Typer 0.29 labels them `<int>`, `<list[str]>` and writes `{NAME}` for arguments)."""
    for param in getattr(command, "params", []):
        if param.metavar is not None and param.param_type_name == "option":
            continue
        if param.param_type_name == "argument":
            word = param.metavar or str(param.name).upper()
            param.metavar = word
            shown = word if param.required else f"[{word}]"
            shown += "..." if param.nargs != 1 else ""
            param._usage_display_name = lambda shown=shown: shown
            param.display_type_rich = lambda ctx=None: None
        elif not getattr(param, "is_flag", False) and not getattr(param, "count", False):
            try:
                label = param.display_type(None)[1:-1]
            except Exception:  # noqa: BLE001 - a label Typer needs a context for: keep Typer's
                continue
            base = label[5:-1] if label.startswith("list[") else label
            param.metavar = _METAVARS.get(base, f"[{base}]" if "|" in base else base.upper())
    for sub in getattr(command, "commands", {}).values():
        if getattr(sub, "commands", None) is not None:  # a group: its own --help is processed too
            sub.get_help_option = _plain_help_option(sub.get_help_option)
        tidy_help(sub)


def _plain_help_option(get: Any) -> Any:
    def get_help_option(ctx: Any) -> Any:
        option = get(ctx)
        if option is not None:
            plain_globals([option])
        return option

    return get_help_option


def plain_globals(params: list[Any]) -> None:
    """The global options are strings and a count: checked as such, not through a pydantic
    TypeAdapter, which Typer 0.29 builds for every processed option (importing pydantic
    costs more than the rest of `awslb COMMAND --help`)."""
    try:
        from typer._coercion import PassThroughRuntimeParam
    except ImportError:  # another Typer: its own coercion, only slower
        return

    class Flag(PassThroughRuntimeParam):
        """A flag's value, also from an environment variable (NO_COLOR=1, AWSLB_SANDBOX=true)."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            return super()._coerce_value(value, param, ctx)

    for param in params:
        desc = getattr(param, "type_descriptor", None)
        if desc is None or param.multiple or param.nargs != 1 or desc.annotation not in (str, int, bool):
            continue
        cls = Flag if desc.annotation is bool else PassThroughRuntimeParam
        param._runtime_param = cls(annotation=desc.annotation, parameter_info=desc.parameter_info)


_TRUE = {"1", "true", "yes", "on", "t", "y"}
_FALSE = {"0", "false", "no", "off", "f", "n", ""}


def _error(message: str, hint: str | None = None) -> None:
    # One line, whatever the message quotes (a flag's value may hold a newline).
    message = message.replace("\r", "\\r").replace("\n", "\\n")
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    sys.stderr.flush()


app = typer.Typer(
    cls=AwslbGroup,
    name="awslb",
    help="Load balancers, images and Auto Scaling groups for media servers on AWS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"awslb {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[str | None, typer.Option("--profile", envvar="AWS_PROFILE",
                                                help="AWS profile from ~/.aws/config.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region (default: AWS_REGION, the profile's).")] = None,
    endpoint_url: Annotated[str | None, typer.Option("--endpoint-url", envvar="AWS_ENDPOINT_URL",
                                                     help="Talk to this endpoint instead of AWS (LocalStack, moto).")] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="text or json (data on stdout).")] = "text",
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail on stderr.")] = 0,
    no_color: Annotated[bool, typer.Option("--no-color", envvar="NO_COLOR", help="No colours.")] = False,
    sandbox: Annotated[bool, typer.Option("--sandbox", envvar="AWSLB_SANDBOX",
                                          help="Run against the built-in AWS emulator (no account needed; "
                                               "it keeps running: `awslb sandbox stop`).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """awslb: put WCS, Wowza, Janus or Ant Media behind a load balancer on AWS."""
    if output not in ("text", "json"):
        raise typer.BadParameter("must be text or json", param_hint="--output")
    check_region(region)
    check_endpoint(endpoint_url)
    st = state(ctx)
    st.profile, st.region, st.endpoint_url = profile, region, endpoint_url
    st.output, st.verbose, st.color = output, verbose, not no_color
    if sandbox:
        # Started lazily, by the first call that needs AWS (State.aws), so every flag and
        # stack-file error is reported first. Its ledgers live apart (ledger.home).
        os.environ["AWSLB_SANDBOX"] = "1"
        st.sandbox_wanted = True


# The region's syntax as botocore checks it (InvalidRegionError), without importing botocore.
_REGION = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?"


def check_region(region: str | None) -> None:
    if region is not None and not re.fullmatch(_REGION, region):
        raise typer.BadParameter(f"{region!r} is not a region name (like eu-central-1)", param_hint="--region")


def check_endpoint(url: str | None) -> None:
    if url is None:
        return
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname
            or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url)):
        raise typer.BadParameter(f"{url!r} is not an http(s) URL (like http://127.0.0.1:5000)",
                                 param_hint="--endpoint-url")


# The command modules, in the order their commands appear in --help.
COMMAND_MODULES = (
    "stack",
    "dns",
    "wizard",
    "ami",
    "elb",
    "alb",
    "nlb",
    "target_group",
    "listener",
    "launch_template",
    "launch_config",
    "asg",
    "userdata",
    "haproxy",
    "agent",
    "redirector",
    "wcs",
    "iam",
    "sandbox",
    "examples",
)


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"awslb.cli.{name}").register(app)


_register()


def _plain_help(typer_app: typer.Typer) -> None:
    """Click's plain help formatting for every command: rendering rich help panels costs
    more than the rest of `--help` together (import of rich, layout), and help is instant."""
    typer_app.rich_markup_mode = None
    for info in typer_app.registered_groups:
        if info.typer_instance is not None:
            _plain_help(info.typer_instance)


_plain_help(app)


def main() -> None:
    app()


__all__ = ["app", "main", "State"]
