"""The root command: global options, subcommand groups, and the one place errors become exit codes.

Exit codes (DESIGN.md): 0 success; 1 the operation failed; 2 usage error; 3 `plan
--exit-code` with changes pending; 4 invalid stack file or input (nothing sent to AWS).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from awslb import __version__
from awslb.cli.common import State, state
from awslb.errors import AwslbError

# The click exception classes Typer vendors, found without importing click.
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_ABORT = typer.Abort


class AwslbGroup(TyperGroup):
    """Maps every awslb error, usage error and interrupt to one line and an exit code."""

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        args = hoist_globals(list(sys.argv[1:] if args is None else args))
        try:
            rv = super().main(args=args, prog_name=prog_name or "awslb", complete_var=complete_var,
                              standalone_mode=False, **extra)
        except AwslbError as exc:
            _error(str(exc), exc.hint)
            sys.exit(exc.exit_code)
        except _CLICK_EXCEPTION as exc:
            _error(exc.format_message(), "see `awslb --help` or `awslb COMMAND --help`")
            sys.exit(exc.exit_code)
        except (_ABORT, KeyboardInterrupt):
            _error("interrupted")
            sys.exit(130)
        code = rv if isinstance(rv, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


# Global options may also follow the command (`awslb up -f s.toml --sandbox`), as in the
# AWS CLI: they are moved before it. Only long forms, so a command's own `-o FILE` stays.
GLOBAL_FLAGS = {"--sandbox", "--no-color"}
GLOBAL_VALUED = {"--profile", "--region", "--endpoint-url", "--output"}


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


def _error(message: str, hint: str | None = None) -> None:
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
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Run against a built-in AWS emulator (no account needed).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """awslb: put WCS, Wowza, Janus or Ant Media behind a load balancer on AWS."""
    if output not in ("text", "json"):
        raise typer.BadParameter("must be text or json", param_hint="--output")
    st = state(ctx)
    st.profile, st.region, st.endpoint_url = profile, region, endpoint_url
    st.output, st.verbose, st.color = output, verbose, not no_color
    if sandbox:
        from awslb.sandbox import start

        sb = start(st.ui, region)
        st.sandbox = sb
        st.endpoint_url, st.region, st.profile = sb.endpoint_url, sb.region, None
        st.poll = 0.2
        ctx.call_on_close(sb.stop)


# The command modules, in the order their commands appear in --help.
COMMAND_MODULES = (
    "stack",
    "dns",
    "wizard",
    "ami",
    "elb",
    "alb",
    "target_group",
    "listener",
    "launch_template",
    "launch_config",
    "asg",
    "userdata",
    "haproxy",
    "agent",
    "wcs",
    "iam",
)


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"awslb.cli.{name}").register(app)


_register()


def main() -> None:
    app()


__all__ = ["app", "main", "State"]
