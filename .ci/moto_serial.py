"""moto's server with DynamoDB requests serialized, and sent e-mails listed.

moto_server answers each request in a thread of its own, and its DynamoDB
backend checks a ConditionExpression and writes the item without a lock,
so two concurrent conditional PutItems can both succeed — which real
DynamoDB never allows and which GAS's claim protocol relies on (two
annotators racing for one job). This wrapper takes one lock around every
DynamoDB request (they are short); other services, SQS long polls
included, stay concurrent. Usage is moto_server's: -H HOST -p PORT.

GET /gas-moto/ses/messages lists the e-mails SES sent (source and raw
MIME), which the end-to-end tests read: moto's own /moto-api/data.json
has them too, but serializes every service's state to do so, which takes
seconds once a CloudFormation stack with EC2 resources exists.
"""

import json

import argparse
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


class SerialDynamoDB(DomainDispatcherApplication):
    """Dispatches like moto_server, one DynamoDB request at a time."""

    def __init__(self, create_app):
        super().__init__(create_app)
        self.dynamodb = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/gas-moto/ses/messages":
            return sent_messages(start_response)
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with self.dynamodb:
                return super().__call__(environ, start_response)
        return super().__call__(environ, start_response)


def sent_messages(start_response):
    """Every raw e-mail every SES backend sent, as JSON."""
    from moto.ses.models import ses_backends

    out = []
    for account in list(ses_backends.keys()):
        for region in list(ses_backends[account].keys()):
            for m in list(ses_backends[account][region].sent_messages):
                raw = getattr(m, "raw_data", None)
                if raw is not None:
                    out.append({"source": getattr(m, "source", ""), "raw_data": raw})
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    run_simple(args.host, args.port, SerialDynamoDB(create_backend_app), threaded=True)


if __name__ == "__main__":
    main()
