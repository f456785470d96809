"""A handler that does nothing: what a cold start costs before any function code (the instruction mode's zero)."""


def handler(event, context):
    return {"statusCode": 200}
