"""`awslb listener https`: the WebSocket listener switched in place to HTTPS/WSS on 8443.

The guide's "Редактирование порта балансировщика" (edit the balancer's port): for an
Application, Network (TCP -> TLS) or Classic Load Balancer of the stack. The command records
``load_balancer.https`` in the stack; the balancer's kind applies it, so running it again,
or running an earlier step again, changes nothing. The new port opens before the
listener changes and the old one closes after: clients are never locked out.
"""

from __future__ import annotations

from typing import Annotated

import typer

from awslb.cli.alb import PortOpt
from awslb.cli.common import AllowReplaceOpt, DryRunOpt, StackOpt, YesOpt, report, run_step

app = typer.Typer(help="Listeners of the stack's load balancer.", no_args_is_help=True)


@app.command("https")
def https(
    ctx: typer.Context,
    lb: Annotated[str | None, typer.Option("--lb", help="The stack's balancer (checked; default: the stack's only one).")] = None,
    port: Annotated[int | None, typer.Option("--port", **PortOpt, help="Secure WebSocket port (default: 8443).")] = None,
    certificate: Annotated[str | None, typer.Option("--certificate", help="ACM (or IAM) certificate ARN.")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Find the issued ACM certificate for this domain (or check --certificate covers it).")] = None,
    ssl_policy: Annotated[str | None, typer.Option("--ssl-policy", help="ELB security policy (default: TLS 1.3/1.2 only).")] = None,
    from_port: Annotated[int | None, typer.Option("--from-port", **PortOpt, help="The listener to switch (default: the WebSocket port).")] = None,
    stack: StackOpt = "default",
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    allow_replace: AllowReplaceOpt = False,
) -> None:
    """Switch the WebSocket listener to HTTPS/WSS with a certificate, in place.

    On an ALB the listener becomes HTTPS, on an NLB TLS (its idle timeout is then fixed at
    350 s by AWS).
    """
    from awslb.cli._balancer import show_outcome

    flags = dict(lb=lb, port=port, certificate=certificate, domain=domain, ssl_policy=ssl_policy,
                 from_port=from_port)
    st, aws, result = run_step(ctx, "listener https", flags, stack=stack, dry_run=dry_run, yes=yes,
                               allow_replace=allow_replace)
    balancer = result.outputs.get("alb")
    if balancer is not None and balancer.attrs.get("type") == "network" and not st.ui.json:
        st.ui.warn("an NLB's TLS listener keeps idle connections 350 s, fixed by AWS (load_balancer.idle_timeout "
                   "applies to its TCP listeners only): clients should ping more often than that")
    if balancer is not None:
        show_outcome(st.ui, aws, result, dry_run)
    else:
        report(st.ui, result, dry_run)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="listener")
