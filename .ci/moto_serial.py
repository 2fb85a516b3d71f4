"""moto's server with DynamoDB requests serialized.

moto_server answers each request in a thread of its own, and its DynamoDB
backend checks a ConditionExpression and writes the item without a lock,
so two concurrent conditional PutItems can both succeed — which real
DynamoDB never allows and which GAS's claim protocol relies on (two
annotators racing for one job). This wrapper takes one lock around every
DynamoDB request (they are short); other services, SQS long polls
included, stay concurrent. Usage is moto_server's: -H HOST -p PORT.
"""

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
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with self.dynamodb:
                return super().__call__(environ, start_response)
        return super().__call__(environ, start_response)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    run_simple(args.host, args.port, SerialDynamoDB(create_backend_app), threaded=True)


if __name__ == "__main__":
    main()
