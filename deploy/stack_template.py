"""The CloudFormation stack `zappa deploy|update <stage>` creates, WebSocket API included, rendered offline.

Zappa 0.63's own `zappa template <stage>` leaves out the WebSocket API that `websocket_handler_module` adds
on deploy (its `template` command does not pass `websocket=` to `create_stack_template`, which `deploy` and
`update` do). This renders the template with the same arguments as `deploy`, so the whole stack can be
reviewed and linted before it exists. Run it with the deploy virtualenv:

    .venv-lambda/bin/python deploy/stack_template.py dev -l <lambda arn> -r <role arn> -o dev-stack.json
"""
import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def render(stage: str, *, lambda_arn: str, role_arn: str) -> dict:
    """Returns the stack template of `stage` as `zappa deploy` builds it."""
    from zappa.cli import ZappaCLI

    cli = ZappaCLI()
    cli.api_stage = stage
    cli.load_settings(str(ROOT / "zappa_settings.json"))
    cli.zappa.credentials_arn = role_arn
    template = cli.zappa.create_stack_template(
        lambda_arn=lambda_arn, lambda_name=cli.lambda_name, api_key_required=cli.api_key_required,
        iam_authorization=cli.iam_authorization, authorizer=cli.authorizer, cors_options=cli.cors,
        description=cli.apigateway_description, endpoint_configuration=cli.endpoint_configuration,
        apigateway_version=cli.apigateway_version, stage_name=cli.api_stage,
        lambda_qualifier=cli.apigateway_lambda_qualifier, websocket=cli.use_websocket)
    return json.loads(template.to_json())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage")
    parser.add_argument("-l", "--lambda-arn", required=True)
    parser.add_argument("-r", "--role-arn", required=True)
    parser.add_argument("-o", "--output", help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)  # Zappa reads its settings and project paths relative to the working directory
    text = json.dumps(render(args.stage, lambda_arn=args.lambda_arn, role_arn=args.role_arn), indent=1)
    if args.output:
        Path(args.output).write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
