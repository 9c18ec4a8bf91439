"""What runs on the media servers and beside them, not on the operator's machine.

Standard library only (plus boto3 where the Lambda runtime provides it): these modules are
installed on servers and zipped into Lambda functions without the CLI's dependencies.
"""
