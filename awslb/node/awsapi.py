"""The node side's one door to AWS (the control plane has `awslb/aws.py`).

Code in `awslb.node` runs on the media servers and in Lambda, where only the standard
library and boto3 (which the Lambda runtime provides) are at hand. Every AWS client it
uses comes from here: standard retries, an awslb user agent, nothing made at import time.
"""

from __future__ import annotations

from typing import Any

USER_AGENT = "awslb-node"


def client(service: str, region: str | None = None, endpoint_url: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra=USER_AGENT)
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url, config=config)


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None
