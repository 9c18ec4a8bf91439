"""`awslb listener https`: the WebSocket listener switched in place to HTTPS/WSS on 8443.

The guide's "Редактирование порта балансировщика" (edit the balancer's port): for an
Application or a Classic Load Balancer of the stack. The command records
``load_balancer.https`` in the stack; the balancer's kind applies it, so running it again,
or running an earlier step again, changes nothing.
"""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.alb import PortOpt
from awslb.cli.common import DryRunOpt, StackOpt, YesOpt, confirm_apply, report, state

app = typer.Typer(help="Listeners of the stack's load balancer.", no_args_is_help=True)

FLAGS = {
    "load_balancer.https.port": "--port",
    "load_balancer.https.certificate": "--certificate",
    "load_balancer.https.domain": "--domain",
    "load_balancer.https.ssl_policy": "--ssl-policy",
    "load_balancer.https.from_port": "--from-port",
    "load_balancer.https": "--certificate",
}


@app.command("https")
def https(
    ctx: typer.Context,
    lb: Annotated[str | None, typer.Option("--lb", help="The stack's balancer (checked; default: the stack's only one).")] = None,
    port: Annotated[int, typer.Option("--port", **PortOpt, help="Secure WebSocket port.")] = 8443,
    certificate: Annotated[str | None, typer.Option("--certificate", help="ACM (or IAM) certificate ARN.")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Find the issued ACM certificate for this domain (or check --certificate covers it).")] = None,
    ssl_policy: Annotated[str | None, typer.Option("--ssl-policy", help="ELB security policy (default: TLS 1.3/1.2 only).")] = None,
    from_port: Annotated[int | None, typer.Option("--from-port", **PortOpt, help="The listener to switch (default: the WebSocket port).")] = None,
    stack: StackOpt = "default",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
) -> None:
    """Switch the WebSocket listener to HTTPS/WSS with a certificate, in place."""
    from awslb import spec
    from awslb.cli._balancer import flag_names, outcome, recorded_lb, show_outcome
    from awslb.errors import InputError, UsageError

    st = state(ctx)
    if certificate is None and domain is None:
        raise UsageError("--certificate: give --certificate ARN, or --domain D to use the issued ACM certificate for D")
    with flag_names(FLAGS):
        recorded, base = recorded_lb(stack)
        known = _balancer_names(stack, base)
        outside = ("a balancer made outside awslb is out of scope for this step: "
                   "make it with `awslb create-alb` or `awslb create-elb`")
        if not base or not base.get("balancer", True):
            if lb is not None:
                raise InputError(f"--lb: no balancer {lb} in stack {stack} ({outside})")
            raise InputError(f"--stack: stack {stack} has no load balancer ({outside})")
        if lb is not None and lb not in known:
            raise InputError(f"--lb: no balancer {lb} in stack {stack} (it has {', '.join(sorted(known))}; {outside})")
        values = {"port": port, "certificate": certificate, "domain": domain, "ssl_policy": ssl_policy,
                  "from_port": from_port}
        section = spec.section(spec.Https, {k: v for k, v in values.items() if v is not None},
                               "load_balancer.https")
        merged = spec.section(spec.LoadBalancerSection,
                              {**base, "https": section.model_dump(exclude_none=True)}, "load_balancer")
        from awslb import deploy

        aws = st.aws(recorded.stack.region)
        result = deploy.apply_sections(aws, st.ui, stack, {"load_balancer": merged},
                                       confirm=confirm_apply(yes), dry_run=dry_run, opts=st.options())
    if dry_run:
        report(st.ui, result, dry_run)
        return
    if base.get("type", "application") == "application":
        show_outcome(st.ui, result, outcome(aws, result))
    else:
        report(st.ui, result, dry_run)


def _balancer_names(stack: str, base: dict) -> set[str]:
    """Every name the stack's balancer answers to: its set name, or what was made."""
    from awslb import names
    from awslb.ledger import Ledger

    found = set()
    if base.get("name"):
        found.add(base["name"])
    elif base.get("type", "application") == "application":
        found.add(names.elbv2(stack, "alb"))
    for obs in Ledger.load(stack).resources.values():
        if obs.kind in ("load_balancer", "classic_lb") and obs.name:
            found.add(obs.name)
    return found


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="listener")
