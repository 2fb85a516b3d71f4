"""moto's server with DynamoDB requests serialized, and sent e-mails listed.

moto_server answers each request in a thread of its own, and its DynamoDB
backend checks a ConditionExpression and writes the item without a lock,
so two concurrent conditional PutItems can both succeed — which real
DynamoDB never allows and which GAS's claim protocol relies on (two
annotators racing for one job). This wrapper takes one lock around every
DynamoDB request (they are short); other services, SQS long polls
included, stay concurrent. Usage is moto_server's: -H HOST -p PORT.

Its SQS backend likewise checks that a message is visible and marks it
received without a lock, so two concurrent ReceiveMessage calls can both
take the same message (the queue contract's ConcurrentReceiversNeverShare
caught it once in CI); real SQS hides a received message from every other
receiver. Receives are made atomic here: each scan of a queue runs under
one lock, and a long poll waits for messages between scans, outside it.

GET /gas-moto/ses/messages lists the e-mails SES sent (source and raw
MIME), which the end-to-end tests read: moto's own /moto-api/data.json
has them too, but serializes every service's state to do so, which takes
seconds once a CloudFormation stack with EC2 resources exists.
"""

import json

import argparse
import threading
import time

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


def atomic_receives():
    """Makes each SQS receive's scan of its queue atomic (see above)."""
    from moto.sqs.models import SQSBackend

    scan = SQSBackend.receive_message
    lock = threading.Lock()

    def receive_message(self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names=None):
        deadline = time.time() + (wait_seconds_timeout or 0)
        while True:
            with lock:
                got = scan(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            if got or not wait_seconds_timeout or time.time() >= deadline:
                return got
            started = time.time()
            self.get_queue(queue_name).wait_for_messages(min(1, max(0.0, deadline - started)))
            if time.time() - started < 0.01:
                time.sleep(0.05)  # visible messages none may take yet (a FIFO group in flight)

    SQSBackend.receive_message = receive_message


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
    atomic_receives()
    run_simple(args.host, args.port, SerialDynamoDB(create_backend_app), threaded=True)


if __name__ == "__main__":
    main()
